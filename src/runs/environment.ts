import { z } from 'zod';
import { writeJsonAtomic } from '../core/atomic.ts';
import { readJsonFile } from '../core/json.ts';
import { runPath } from './layout.ts';

/**
 * `environment.json`: what a run ran on and with (versions, backend, the data's fingerprint and the split), so a
 * result can be traced and `--resume` can refuse other data.
 */
export const environmentSchema = z.looseObject({
  sliceseq: z.string(),
  node: z.string(),
  tfjs: z.string(),
  backend: z.string(),
  device: z.string().optional(),
  /** Threads the math ran on (TensorFlow's intra-op threads on a native backend). */
  threads: z.number().int().min(1).optional(),
  /** The TensorFlow C library behind a native backend. */
  tensorflow: z.object({ tensorflow: z.string(), path: z.string() }).optional(),
  /** The GPU that computed (backend tensorflow-gpu, CUDA 12 build): name, driver, CUDA and cuDNN built with and loaded. */
  gpu: z
    .object({
      name: z.string(),
      computeCapability: z.string(),
      memoryMiB: z.number(),
      driver: z.string().nullable(),
      cuda: z.object({ builtWith: z.string(), runtime: z.string() }),
      cudnn: z.object({ builtWith: z.string(), library: z.string() }),
    })
    .optional(),
  seed: z.number().int(),
  data: z.looseObject({ source: z.string(), fingerprint: z.string(), patients: z.number().int().min(0) }),
  split: z.object({ train: z.array(z.string()), val: z.array(z.string()), test: z.array(z.string()) }),
  /** Pretrained backbone weights: the file, its format and the input normalisation that travels with them. */
  pretrained: z.object({ path: z.string(), format: z.string(), bytes: z.number(), normalize: z.string() }).optional(),
  /** Two-stage runs: the embeddings cache trained on (experiments/embeddings-input.ts). */
  embeddings: z
    .object({
      cache: z.string(),
      fingerprint: z.string(),
      parts: z.object({ model: z.string(), preprocess: z.string(), data: z.string() }),
      source: z.record(z.string(), z.unknown()),
    })
    .optional(),
  /** Config fields a `--resume --allow-changes` changed on purpose, one entry per such resume. */
  changes: z
    .array(z.object({ at: z.string(), fields: z.record(z.string(), z.object({ from: z.unknown(), to: z.unknown() })) }))
    .optional(),
});
export type RunEnvironment = z.output<typeof environmentSchema>;

export function writeEnvironment(runDir: string, environment: RunEnvironment): void {
  writeJsonAtomic(runPath(runDir, 'environment'), environment);
}

export function readEnvironment(runDir: string): RunEnvironment {
  return readJsonFile(environmentSchema, runPath(runDir, 'environment'));
}
