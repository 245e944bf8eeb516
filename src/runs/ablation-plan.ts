import { existsSync } from 'node:fs';
import { z } from 'zod';
import { writeJsonAtomic } from '../core/atomic.ts';
import { isJsonObject, readJson } from '../core/json.ts';
import { parseOrThrow } from '../core/validate.ts';
import { ABLATION_FILES, ablationPath } from './layout.ts';

/**
 * `ablation.json`: an ablation's whole grid as it runs (experiments/ablation.ts plans it), saved once so every
 * shard and `--summarize` read the same plan. Each variant's experiment is stored unresolved, as planned.
 */
export const ablationThresholdModes = ['tuned', 'fixed'] as const;

export const ablationTrialSchema = z.object({
  /** `<variant>-seed<s>-fold<f>`: the trial's run directory below the ablation's folder. */
  name: z.string().min(1),
  variant: z.string().min(1),
  seed: z.number().int().min(0),
  fold: z.number().int().min(0),
});

export const ablationVariantSchema = z.object({
  name: z.string().min(1),
  /** The variant's patch with dotted keys nested: what it changes in the base. */
  overrides: z.record(z.string(), z.unknown()),
  /** The base (with quick overrides under `--quick`) and the patch merged: every trial's config but seed and fold. */
  experiment: z.record(z.string(), z.unknown()),
});

export const ABLATION_PLAN_FORMAT = 'sliceseq.ablation-plan/1';

export const ablationPlanSchema = z.object({
  format: z.literal(ABLATION_PLAN_FORMAT),
  name: z.string().min(1),
  description: z.string(),
  reference: z.string().min(1),
  quick: z.boolean(),
  seeds: z.array(z.number().int().min(0)),
  /** 1: the base split's fold; K >= 2: a K-fold split, every fold run. */
  folds: z.number().int().min(1),
  thresholds: z.enum(ablationThresholdModes),
  bootstrap: z.object({ resamples: z.number().int().min(1), confidence: z.number().gt(0).lt(1), seed: z.number().int().min(0) }),
  variants: z.array(ablationVariantSchema),
  /** Seed-major, then fold, then variant: a partial run has every variant of its first seeds. */
  trials: z.array(ablationTrialSchema),
});
export type AblationTrial = z.output<typeof ablationTrialSchema>;
export type AblationPlanFile = z.output<typeof ablationPlanSchema>;

export function writeAblationPlan(dir: string, plan: AblationPlanFile): void {
  writeJsonAtomic(ablationPath(dir, 'plan'), parseOrThrow(ablationPlanSchema, plan, 'ablation plan'));
}

/** The plan of the ablation folder `dir`; a folder without one is an error saying what it is not. */
export function readAblationPlan(dir: string): AblationPlanFile {
  const file = ablationPath(dir, 'plan');
  if (!existsSync(file)) throw new Error(`${dir} is not an ablation folder: it has no ${ABLATION_FILES.plan} (written by \`sliceseq ablate\`)`);
  const raw = readJson(file);
  if (isJsonObject(raw) && raw.format !== ABLATION_PLAN_FORMAT) throw new Error(`${file}: unknown format '${String(raw.format)}'`);
  return parseOrThrow(ablationPlanSchema, raw, file);
}
