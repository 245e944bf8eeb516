import { z } from 'zod';
import { fieldAt } from '../core/json.ts';
import type { FbetaAverage } from './fbeta.ts';
import type { MetricKey } from './metric-keys.ts';

export * from './metric-keys.ts';

/** A score's value in a block: a number, null where it was undefined (e.g. AUC without positives), else undefined. */
export function scoreAt(block: unknown, key: MetricKey | string): number | null | undefined {
  const value = fieldAt(block, typeof key === 'string' ? key : key.path);
  return typeof value === 'number' || value === null ? value : undefined;
}

// ---- the score block of one split (metrics.json `val`, `test`, `baseline`) ----------------------------------------

const score = z.number().nullable();
const f2Block = z.looseObject({ samples: score, micro: score, macro: score, weighted: score.optional() } satisfies Partial<Record<FbetaAverage, unknown>>);

/**
 * A split's scores as `scoreSplit` writes them. Known fields are checked; the block stays open (group metrics,
 * dense-map scores and fields a later version adds pass through), so every run directory written so far reads.
 */
export const splitScoresSchema = z.looseObject({
  rows: z.number().int().min(0).optional(),
  loss: z.number().optional(),
  policy: z.string().optional(),
  f2: f2Block.optional(),
  f2_tuned: f2Block.optional(),
  auc: z.looseObject({ macro: score, micro: score.optional(), weighted: score.optional(), perClass: z.record(z.string(), score).optional() }).optional(),
  average_precision: z.looseObject({ macro: score, micro: score.optional() }).optional(),
  logloss: score.optional(),
  brier: score.optional(),
  ece: score.optional(),
  /** The tuned thresholds scored with: one per binary class, or per dense-map type its grade thresholds. */
  thresholds: z.union([z.array(z.number()), z.record(z.string(), z.array(z.number()))]).optional(),
  categorical_auc: score.optional(),
  ordinal_accuracy: score.optional(),
  qwk: score.optional(),
  groups: z.record(z.string(), z.unknown()).optional(),
});
export type SplitScores = z.output<typeof splitScoresSchema>;

/**
 * metrics.json's `baseline`: the all-positive predictor's scores as a full block. Runs written before it was one
 * hold bare F2 averages (`{ samples, micro, macro }`); they read as that block's `f2`.
 */
export const baselineScoresSchema = z.preprocess(
  (value) => (value && typeof value === 'object' && !('f2' in value) && 'samples' in value ? { f2: value } : value),
  splitScoresSchema,
);
