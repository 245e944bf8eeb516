import { z } from 'zod';
import { writeJsonAtomic } from '../core/atomic.ts';
import { readJsonFile } from '../core/json.ts';
import { crossValidationPath } from './layout.ts';

/**
 * `cv-summary.json`: a cross-validation folder's result (experiments/cross-validate.ts computes it): each fold's
 * validation and test metrics, the metrics of all out-of-fold predictions pooled (at 0.5 and at the thresholds
 * tuned on them) with a bootstrap interval over patients, and the fold ensemble's metrics on the test split at
 * those thresholds. The same numbers are in the folder's metrics.json (`val` = out of fold, `test` = ensemble).
 */
export const CROSS_VALIDATION_SUMMARY_FORMAT = 'sliceseq.cv-summary/1';

const nullableNumber = z.number().nullable();
/** Metric key (`f2.samples`, `f2_tuned.samples`, `auc.macro`, `logloss`) → value; null where undefined. */
const valuesSchema = z.record(z.string(), nullableNumber);

/** Percentile bootstrap interval of F2 (samples, tuned thresholds), resampling patients. */
const intervalSchema = z.object({
  estimate: nullableNumber,
  lower: nullableNumber,
  upper: nullableNumber,
  confidence: z.number().gt(0).lt(1),
  resamples: z.number().int().min(1),
  patients: z.number().int().min(0),
});

const pooledSchema = z.object({
  rows: z.number().int().min(0),
  values: valuesSchema,
  f2TunedInterval: intervalSchema,
});

export const crossValidationSummarySchema = z
  .object({
    format: z.literal(CROSS_VALIDATION_SUMMARY_FORMAT),
    experiment: z.string(),
    seed: z.number().int().min(0),
    /** How every F2 here was computed (zero-division policy, thresholds). */
    policy: z.string(),
    classes: z.array(z.string()),
    /** Tuned on all out-of-fold predictions (the folder's thresholds.json). */
    thresholds: z.array(z.number()),
    folds: z.array(
      z.object({
        fold: z.number().int().min(0),
        /** The fold's run directory, relative to the cross-validation folder. */
        runDir: z.string(),
        val: valuesSchema,
        test: valuesSchema.optional(),
      }),
    ),
    outOfFold: pooledSchema,
    /** The mean of the fold models' probabilities on the test split; absent without a test split. */
    ensemble: pooledSchema.extend({ members: z.number().int().min(1) }).optional(),
  })
  .strict();
export type CrossValidationSummary = z.output<typeof crossValidationSummarySchema>;

export function writeCrossValidationSummary(dir: string, summary: CrossValidationSummary): void {
  writeJsonAtomic(crossValidationPath(dir, 'summary'), crossValidationSummarySchema.parse(summary));
}

export function readCrossValidationSummary(dir: string): CrossValidationSummary {
  return readJsonFile(crossValidationSummarySchema, crossValidationPath(dir, 'summary'));
}
