import { existsSync } from 'node:fs';
import { z } from 'zod';
import { writeFileAtomic } from '../core/atomic.ts';
import { formatJsonLines, readJsonLines } from '../core/json.ts';
import { runPath } from './layout.ts';

/**
 * `steps.jsonl`: the training loss and learning rate of single optimizer steps, at a bounded size. Of the steps
 * taken so far (n) it keeps every `stride`-th, where the stride is the smallest power of two that leaves at most
 * MAX_STEP_POINTS points (steps stride, 2·stride, …). The stride depends only on n, so the file after a resume is
 * the one an uninterrupted run would have written. Rewritten whole after every epoch, like history.jsonl.
 */
export const MAX_STEP_POINTS = 10_000;

export const stepRecordSchema = z
  .object({
    /** 1-based optimizer step. */
    step: z.number().int().positive(),
    /** 1-based epoch the step belongs to. */
    epoch: z.number().int().positive(),
    loss: z.number(),
    learning_rate: z.number(),
  })
  .strict();
export type StepRecord = z.output<typeof stepRecordSchema>;

/** The stride after `steps` steps: the smallest power of two s with floor(steps / s) ≤ max. */
export function stepStride(steps: number, max = MAX_STEP_POINTS): number {
  let stride = 1;
  while (Math.floor(steps / stride) > max) stride *= 2;
  return stride;
}

/** The bounded record of steps: `add` each step in order, `records` the points kept so far. */
export class StepLog {
  private points: StepRecord[] = [];
  private stride = 1;
  private last = 0;

  constructor(private readonly max = MAX_STEP_POINTS) {
    if (!Number.isInteger(max) || max < 1) throw new Error(`StepLog: max must be a positive integer, got ${max}`);
  }

  /** Continues from records read back, as of `steps` steps taken (later records, from an epoch not checkpointed, are dropped). */
  static resume(records: readonly StepRecord[], steps: number, max = MAX_STEP_POINTS): StepLog {
    const log = new StepLog(max);
    log.last = steps;
    log.stride = stepStride(steps, max);
    log.points = records.filter((r) => r.step <= steps && r.step % log.stride === 0);
    return log;
  }

  add(record: StepRecord): void {
    if (record.step <= this.last) throw new Error(`StepLog: step ${record.step} after step ${this.last}`);
    this.last = record.step;
    if (record.step % this.stride === 0) this.points.push(record);
    if (this.points.length > this.max) {
      this.stride *= 2;
      this.points = this.points.filter((r) => r.step % this.stride === 0);
    }
  }

  records(): readonly StepRecord[] {
    return this.points;
  }
}

export function writeSteps(runDir: string, records: readonly StepRecord[]): void {
  writeFileAtomic(runPath(runDir, 'steps'), formatJsonLines(records));
}

export function readSteps(runDir: string): StepRecord[] {
  return readJsonLines(stepRecordSchema, runPath(runDir, 'steps'));
}

export function readStepsIfExists(runDir: string): StepRecord[] | undefined {
  return existsSync(runPath(runDir, 'steps')) ? readSteps(runDir) : undefined;
}
