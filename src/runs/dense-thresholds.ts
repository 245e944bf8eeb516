import { z } from 'zod';
import { writeJsonAtomic } from '../core/atomic.ts';
import { readJsonFile } from '../core/json.ts';
import { denseOutputModes } from '../labels/dense-ordinal.ts';
import { runPath } from './layout.ts';

/**
 * `dense-thresholds.json`, written by a dense-ordinal run: the thresholds that turned each type's regression
 * output into grades on validation and test (the group's own, or tuned on validation to maximise QWK), where
 * they came from, and how many combinations of grades the training maps hold.
 */
export const denseThresholdsFileSchema = z
  .object({
    kind: z.literal('dense-ordinal'),
    group: z.string(),
    mode: z.enum(denseOutputModes),
    /** Fixed, tuned, or not used (cumulative and joint outputs are graded by their own rule). */
    source: z.string(),
    /** Per type, levels-1 increasing thresholds. */
    thresholds: z.record(z.string(), z.array(z.number())),
    /** Distinct combinations of grades over the training maps' fully labelled pixels. */
    training_combinations: z.number().int().min(0),
  })
  .strict();

export type DenseThresholdsFile = z.output<typeof denseThresholdsFileSchema>;

export function writeDenseThresholds(runDir: string, record: DenseThresholdsFile): void {
  writeJsonAtomic(runPath(runDir, 'denseThresholds'), denseThresholdsFileSchema.parse(record));
}

export function readDenseThresholds(runDir: string): DenseThresholdsFile {
  return readJsonFile(denseThresholdsFileSchema, runPath(runDir, 'denseThresholds'));
}
