import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { summarizeRun } from '../../src/cli/run-summary.ts';
import { setLogLevel } from '../../src/core/log.ts';
import { runExperiment } from '../../src/experiments/run.ts';
import { tinyDemoData, tinyExperiment } from '../train/helpers.ts';

describe('the run directory', () => {
  let data: string;
  let root: string;
  beforeAll(async () => {
    ({ root, data } = await tinyDemoData());
  });

  it('is not created when the data fails its checks', async () => {
    const empty = join(root, 'empty-data');
    mkdirSync(empty);
    const out = join(root, 'refused');
    await expect(runExperiment(tinyExperiment(empty), { out })).rejects.toThrow(empty);
    expect(existsSync(join(out, 'tiny-seed3-fold0'))).toBe(false);
  });

  it('ends with report.html, whose path the run command prints', async () => {
    setLogLevel('error');
    try {
      const result = await runExperiment(tinyExperiment(data, { train: { epochs: 1, batchSize: 4 } }), { out: join(root, 'runs') });
      const report = join(result.runDir, 'report.html');
      expect(readFileSync(report, 'utf8')).toContain('<svg');
      expect(existsSync(join(result.runDir, 'figures'))).toBe(true);
      expect(summarizeRun(result)).toContain(`report: ${report}`);
      expect(summarizeRun(result)).toContain('F2 policy: zero division 1 (a row with no true and no predicted label scores 1); samples = mean F2 over rows (Kaggle)');
    } finally {
      setLogLevel('info');
    }
  });
});
