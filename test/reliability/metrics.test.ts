import { readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { summarizeRun } from '../../src/cli/run-summary.ts';
import { log } from '../../src/core/log.ts';
import { runExperiment, type RunResult } from '../../src/experiments/run.ts';
import { constantBaselines, positivesAt } from '../../src/metrics/baselines.ts';
import { fromRows } from '../../src/metrics/matrix.ts';
import { readRunMetrics, runPath } from '../../src/runs/index.ts';
import { tinyDemoData, tinyExperiment } from '../train/helpers.ts';

/** What a run reports (issue 24 items 12 and 13): one validation loss per epoch, and the floors beside every F2. */
describe('baselines beside every F2', () => {
  it('all-negative F2 under zero division 1 is the share of normal rows; all-positive is the floor of recall-only answers', () => {
    // Three normal rows, one with label b.
    const targets = fromRows([[0, 0], [0, 0], [0, 0], [0, 1]], (n) => new Uint8Array(n));
    const { all_negative, all_positive } = constantBaselines(targets, 1);
    expect(all_negative.samples).toBe(0.75);
    expect(constantBaselines(targets, 0).all_negative.samples).toBe(0);
    // Row 4: precision 1/2, recall 1 → F2 = 5/6; normal rows predicted positive score 0.
    expect(all_positive.samples).toBeCloseTo(5 / 6 / 4, 12);
    expect(positivesAt(fromRows([[0.2, 0.9], [0.1, 0.3]], (n) => new Float32Array(n)), [0.5, 0.95])).toBe(0);
    expect(positivesAt(fromRows([[0.2, 0.9], [0.1, 0.3]], (n) => new Float32Array(n)), [0.5, 0.5])).toBe(1);
  });

  it('flags tuned thresholds that predict no positive at all in the run summary', () => {
    const block = { f2: { samples: 0.69, micro: 0, macro: 0 }, f2_tuned: { samples: 0.69, micro: 0, macro: 0 }, baselines: { all_positive: { samples: 0.1, micro: 0.2, macro: 0.2 }, all_negative: { samples: 0.69, micro: 0, macro: 0 } }, f2_tuned_positives: 0 };
    const result = { runDir: '/r', backend: { kind: 'cpu', device: 'cpu' }, state: {}, metrics: { val: block, test: block } } as unknown as RunResult;
    const text = summarizeRun(result);
    expect(text).toMatch(/test all-negative F2 +samples 0\.6900/);
    expect(text).toMatch(/test all-positive F2 +samples 0\.1000/);
    expect(text).toContain('warning: the tuned thresholds predict no positive label on test');
  });
});

describe('a run', () => {
  let root: string;
  let result: RunResult;
  const quiet = vi.spyOn(log, 'info').mockImplementation(() => {});
  beforeAll(async () => {
    let data: string;
    ({ root, data } = await tinyDemoData());
    const base = tinyExperiment(data);
    // maxSlices 2 of 4 slices: training sees two, validation and the final scores every slice.
    const experiment = { ...base, data: { ...base.data, maxSlices: 2 }, train: { ...base.train, epochs: 1 } };
    result = await runExperiment(experiment, { out: root, report: false });
  });
  afterAll(() => {
    quiet.mockRestore();
    rmSync(root, { recursive: true, force: true });
  });

  it('has one validation loss per epoch: the same rows and number in history.jsonl and metrics.json (item 12)', () => {
    const [epoch] = readFileSync(runPath(result.runDir, 'history'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    const metrics = readRunMetrics(result.runDir);
    expect(epoch.val.rows).toBe(metrics.val!.rows);
    expect(epoch.val.loss).toBeCloseTo(metrics.val!.loss as number, 5);
  });

  it('writes both baselines and the tuned thresholds\' positives beside the F2 of each split (item 13)', () => {
    const metrics = readRunMetrics(result.runDir);
    for (const block of [metrics.val!, metrics.test!]) {
      expect(block.baselines).toEqual({ all_positive: expect.objectContaining({ samples: expect.any(Number) }), all_negative: expect.objectContaining({ samples: expect.any(Number) }) });
      expect(block.f2_tuned_positives).toEqual(expect.any(Number));
    }
    expect(summarizeRun(result)).toMatch(/test all-negative F2/);
  });
});
