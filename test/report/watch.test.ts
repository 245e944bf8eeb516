import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { registerReport } from '../../src/cli/commands/report.ts';
import { readHistory, writeHistory } from '../../src/runs/history.ts';
import { watchRunReport } from '../../src/report/watch.ts';
import { runCli } from '../helpers/cli.ts';
import { writeSyntheticRun } from './run-report-fixture.ts';

/** A copy of a finished synthetic run as it looked after its first epoch, and the finished run itself. */
function runInProgress(): { full: string; partial: string } {
  const full = writeSyntheticRun({ classes: ['a', 'b'] });
  const partial = join(dirname(full), 'in-progress');
  mkdirSync(partial);
  for (const file of ['config.json', 'environment.json', 'steps.jsonl']) copyFileSync(join(full, file), join(partial, file));
  writeHistory(partial, readHistory(full).slice(0, 1));
  return { full, partial };
}

describe('sliceseq report --watch', () => {
  it('rewrites the report after each epoch and once more when the run finishes', async () => {
    const { full, partial } = runInProgress();
    const seen: Array<{ epochs: number; figures: string[]; finished: boolean }> = [];
    const result = await watchRunReport(partial, {
      slices: false,
      intervalMs: 10,
      onReport: (report, epochs) => {
        const page = readFileSync(report.html, 'utf8');
        seen.push({ epochs, figures: [...page.matchAll(/data-figure="([^"]+)"/g)].map((m) => m[1]), finished: !page.includes('metrics.json is not in the run directory') });
        // The run goes on: its next epoch, then its end (metrics.json last, as the runner writes it).
        if (epochs < 3) writeHistory(partial, readHistory(full).slice(0, epochs + 1));
        if (epochs === 2) {
          for (const file of ['thresholds.json', 'predictions-oof.csv', 'predictions-test.csv', 'classification-report.json', 'metrics.json']) copyFileSync(join(full, file), join(partial, file));
        }
      },
    });
    expect(seen.map((s) => s.epochs)).toEqual([1, 2, 3]);
    expect(seen.map((s) => s.finished)).toEqual([false, false, true]);
    expect(seen[0].figures).toEqual(['loss', 'metrics', 'learning-rate', 'step-loss']);
    expect(seen[2].figures).toContain('reliability');
    expect(result?.html).toBe(join(partial, 'report.html'));
  });

  it('stops when aborted, and waits for a run that has not started', async () => {
    const { partial } = runInProgress();
    const missing = join(partial, 'not-yet');
    const stop = new AbortController();
    const watching = watchRunReport(missing, { slices: false, intervalMs: 10, signal: stop.signal });
    stop.abort();
    expect(await watching).toBeUndefined();
    expect(existsSync(join(missing, 'report.html'))).toBe(false);
  });

  it('returns at once for a finished run, from the command line', async () => {
    const { full } = runInProgress();
    const printed = await runCli(registerReport, 'report', full, '--watch', '--no-slices', '--interval', '1');
    expect(printed.trim()).toBe(join(full, 'report.html'));
    await expect(runCli(registerReport, 'report', full, '--watch', '--interval', '0')).rejects.toThrow(/--interval must be a positive whole number/);
  });
});
