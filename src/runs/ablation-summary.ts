import { z } from 'zod';
import { writeFileAtomic, writeJsonAtomic } from '../core/atomic.ts';
import { readJsonFile } from '../core/json.ts';
import { zeroDivisionSchema } from '../metrics/policy.ts';
import { ablationThresholdModes } from './ablation-plan.ts';
import { ablationPath } from './layout.ts';

/**
 * `ablation-summary.json` (and the Markdown beside it): per variant the test-split metrics of every finished
 * trial with their mean ± standard deviation, and against the reference a paired bootstrap of the difference
 * (experiments/summarize.ts computes it, report/ablation-report.ts draws it).
 */
export const ABLATION_SUMMARY_FORMAT = 'sliceseq.ablation-summary/1';

const nullableNumber = z.number().nullable();

/** A two-sided interval; null ends where it is undefined. */
const intervalSchema = z.object({ lower: nullableNumber, upper: nullableNumber });

/** Paired bootstrap of variant − reference in one metric, on the pooled test rows of the seed/fold pairs. */
export const pairedDifferenceSchema = intervalSchema.extend({
  difference: nullableNumber,
  /** Two-sided bootstrap p-value for "no difference". */
  pValue: z.number().min(0).max(1).nullable(),
  /** The variant's and the reference's value on the pooled rows (difference = variant − reference). */
  variant: nullableNumber,
  reference: nullableNumber,
  /** Resamples where the difference was undefined (left out). */
  undefinedResamples: z.number().int().min(0),
});

const metricSummarySchema = z.object({
  /** Mean and sample standard deviation over the finished trials (null: no defined value, or fewer than two). */
  mean: nullableNumber,
  std: nullableNumber,
  /** Interval of the variant's mean; without one, the report draws the t interval over the trials. */
  ci: intervalSchema.optional(),
  /** F2 metrics of a variant other than the reference, once a seed/fold pair has finished for both. */
  vsReference: pairedDifferenceSchema.optional(),
});

const trialSummarySchema = z.object({
  trial: z.string(),
  seed: z.number().int(),
  fold: z.number().int(),
  /** The trial's run directory, relative to the ablation folder (the one holding the summary). */
  runDir: z.string(),
  /** Test-split values by metric key; null where undefined (e.g. AUC of a class without positives). */
  values: z.record(z.string(), nullableNumber),
});

const variantSummarySchema = z.object({
  name: z.string().min(1),
  isReference: z.boolean(),
  /** What the variant changes in the base experiment, by dot path down to components. */
  overrides: z.record(z.string(), z.unknown()),
  /** Finished trials, in seed then fold order. */
  trials: z.array(trialSummarySchema),
  /** Planned trials without metrics.json yet. */
  missing: z.array(z.string()),
  /** By metric key, in the order of the summary's `metrics`. */
  metrics: z.record(z.string(), metricSummarySchema),
  /** What the paired comparison pooled; null for the reference, or before any pair finished. */
  pairing: z
    .object({
      against: z.string(),
      /** The seed/fold pairs where both the variant and the reference finished. */
      pairs: z.array(z.object({ seed: z.number().int(), fold: z.number().int() })),
      /** Test rows pooled (patients, or slices for slice-level runs), and the distinct patients resampled. */
      rows: z.number().int(),
      patients: z.number().int(),
    })
    .nullable(),
});

export const ablationSummarySchema = z
  .object({
    format: z.literal(ABLATION_SUMMARY_FORMAT),
    name: z.string(),
    description: z.string(),
    split: z.literal('test'),
    /** `tuned`: F2 at each run's thresholds tuned on its validation split; `fixed`: at 0.5. */
    thresholds: z.enum(ablationThresholdModes),
    /** The zero-division policy of the trials' F2 (metrics/policy.ts); absent in summaries written before it was recorded. */
    zeroDivision: zeroDivisionSchema.optional(),
    /** Metric keys (dot paths into metrics.json `test`), in display order. */
    metrics: z.array(z.string()),
    /** The variant the others are compared with. */
    reference: z.string().min(1),
    /** Level of every interval; p-values below 1 − confidence are significant at that level. */
    confidence: z.number().gt(0).lt(1),
    seeds: z.array(z.number().int()),
    folds: z.number().int(),
    quick: z.boolean(),
    bootstrap: z.object({
      resamples: z.number().int(),
      seed: z.number().int(),
      /** What one bootstrap draw resamples, and how variant and reference rows are matched. */
      unit: z.literal('patient'),
      pairing: z.literal('row id within the same seed and fold'),
    }),
    trials: z.object({ planned: z.number().int(), finished: z.number().int() }),
    complete: z.boolean(),
    variants: z.array(variantSummarySchema).min(1),
  })
  .superRefine((summary, ctx) => {
    const names = summary.variants.map((v) => v.name);
    names.forEach((name, i) => {
      if (names.indexOf(name) !== i) ctx.addIssue({ code: 'custom', path: ['variants', i, 'name'], message: `variant name '${name}' appears twice` });
    });
    if (!names.includes(summary.reference)) {
      ctx.addIssue({ code: 'custom', path: ['reference'], message: `'${summary.reference}' is not one of the variants (${names.join(', ')})` });
    }
  });
export type AblationSummary = z.output<typeof ablationSummarySchema>;
export type VariantSummary = AblationSummary['variants'][number];
export type TrialSummary = VariantSummary['trials'][number];
export type MetricSummary = VariantSummary['metrics'][string];
export type PairedDifference = z.output<typeof pairedDifferenceSchema>;

/** Writes `ablation-summary.json` and `ablation-summary.md` (its Markdown rendering) into the ablation folder. */
export function writeAblationSummaryFiles(dir: string, summary: AblationSummary, markdown: string): void {
  writeJsonAtomic(ablationPath(dir, 'summaryJson'), summary);
  writeFileAtomic(ablationPath(dir, 'summaryMarkdown'), markdown);
}

export function readAblationSummary(dir: string): AblationSummary {
  return readJsonFile(ablationSummarySchema, ablationPath(dir, 'summaryJson'));
}
