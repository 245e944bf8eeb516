import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runPath } from '../../src/runs/layout.ts';
import { MAX_STEP_POINTS, readSteps, StepLog, stepStride, writeSteps, type StepRecord } from '../../src/runs/steps.ts';

const record = (step: number): StepRecord => ({ step, epoch: Math.ceil(step / 7), loss: 1 / step, learning_rate: 0.01 });

function logOf(steps: number, max: number): StepLog {
  const log = new StepLog(max);
  for (let s = 1; s <= steps; s++) log.add(record(s));
  return log;
}

describe('steps.jsonl: per-step loss and learning rate at a bounded size', () => {
  it('keeps every step until the bound, then every stride-th step with the smallest power-of-two stride', () => {
    expect(logOf(10, 10).records().map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(logOf(11, 10).records().map((r) => r.step)).toEqual([2, 4, 6, 8, 10]);
    expect(logOf(45, 10).records().map((r) => r.step)).toEqual([8, 16, 24, 32, 40]);
    for (const steps of [1, 99, 1000, 12345]) {
      const kept = logOf(steps, 100).records();
      expect(kept.length).toBeLessThanOrEqual(100);
      expect(kept.map((r) => r.step)).toEqual(Array.from({ length: Math.floor(steps / stepStride(steps, 100)) }, (_, i) => (i + 1) * stepStride(steps, 100)));
    }
    expect(stepStride(250_000)).toBe(32);
    expect(Math.floor(250_000 / stepStride(250_000))).toBeLessThanOrEqual(MAX_STEP_POINTS);
  });

  it('resumes to the file an uninterrupted run writes, dropping steps past the checkpoint', () => {
    const before = logOf(37, 10);
    // The checkpoint was taken at step 30; the file holds steps up to 37.
    const resumed = StepLog.resume(before.records(), 30, 10);
    for (let s = 31; s <= 95; s++) resumed.add(record(s));
    expect(resumed.records()).toEqual(logOf(95, 10).records());
    expect(() => resumed.add(record(95))).toThrow(/step 95 after step 95/);
  });

  it('is written and read back, and a bad record names the file and line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'steps-'));
    const records = logOf(30, 8).records();
    writeSteps(dir, records);
    expect(readSteps(dir)).toEqual(records);
    writeFileSync(runPath(dir, 'steps'), '{"step": 1, "epoch": 1, "loss": "x", "learning_rate": 0.1}\n');
    expect(() => readSteps(dir)).toThrow(/steps\.jsonl line 1/);
  });
});
