import { z } from 'zod';
import { writeJsonAtomic } from '../core/atomic.ts';
import { readJsonFile } from '../core/json.ts';
import { zeroDivisionSchema } from '../metrics/policy.ts';
import { runPath } from './layout.ts';

/**
 * `config.json`: the resolved experiment a run trained, as `resolveExperiment` returned it (experiments/config.ts
 * owns that schema). Readers of a run rely only on the fields below, so this checks those and keeps the rest.
 */
const component = z.looseObject({ name: z.string().min(1) });

export const runConfigSchema = z.looseObject({
  name: z.string().min(1),
  seed: z.number().int().min(0),
  data: z
    .looseObject({
      dataset: component.optional(),
      level: z.enum(['patient', 'slice']).optional(),
      preprocess: z.array(component).optional(),
      cacheDir: z.string().optional(),
      augmentPerSlice: z.boolean().optional(),
    })
    .optional(),
  evaluation: z.looseObject({ zeroDivision: zeroDivisionSchema.optional() }).optional(),
});
export type RunConfig = z.output<typeof runConfigSchema>;

export function writeRunConfig(runDir: string, config: RunConfig): void {
  writeJsonAtomic(runPath(runDir, 'config'), config);
}

export function readRunConfig(runDir: string): RunConfig {
  return readJsonFile(runConfigSchema, runPath(runDir, 'config'));
}
