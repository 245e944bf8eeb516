import { z } from 'zod';
import { backendPreferences } from '../backend/select.ts';
import { parseOrThrow } from '../core/validate.ts';
import { criterionConfigSchema } from '../losses/criterion.ts';
import { DEFAULT_ZERO_DIVISION, zeroDivisionValueSchema } from '../metrics/policy.ts';
import { modelConfigSchema } from '../models/build.ts';
import { preprocessConfigSchema } from '../data/preprocess.ts';
import { monitorChoices } from '../train/evaluate.ts';

/**
 * An experiment is one plain, typed object: data and label schema, preprocessing and augmentation, model,
 * losses, optimizer, schedule, training length, split, seed and the metric that picks the best epoch.
 * Experiment files in experiments/ `export default defineExperiment({...})`.
 */
const component = z.looseObject({ name: z.string().min(1) });

/**
 * `data.embeddings` of an experiment: train on slice embeddings cached by `sliceseq extract` (two-stage mode)
 * instead of images; embeddings-input.ts checks the cache is the extraction named here.
 */
const embeddingsInputSchema = z
  .object({
    /** The folder `sliceseq extract --cache` wrote. */
    cache: z.string().min(1),
    /** The extraction the cache must hold: the first-stage experiment file and the options `sliceseq extract` was given. */
    extract: z
      .object({
        experiment: z.string().min(1),
        fromRun: z.string().min(1).optional(),
        tta: z.boolean().default(false),
        quick: z.boolean().default(false),
        sets: z.array(z.string()).default([]),
      })
      .strict()
      .optional(),
    /** Or the fingerprint `sliceseq extract` printed, pinned. */
    fingerprint: z.string().regex(/^[0-9a-f]{16}$/, 'a 16-digit hex fingerprint as `sliceseq extract` prints it').optional(),
  })
  .strict()
  .refine((value) => value.extract !== undefined || value.fingerprint !== undefined, {
    message: 'name the extraction the cache must hold (extract: { experiment, fromRun?, tta? }) or pin its fingerprint',
    path: ['extract'],
  });

/** Re-exported: experiment files and the CLI read the choices from here. */
export { monitorChoices };

export const experimentSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'use letters, digits, _ . - only'),
    description: z.string().default(''),
    seed: z.number().int().min(0).default(0),
    backend: z.enum(backendPreferences).default('auto'),
    /** TensorFlow's intra-op threads on a native backend (0: TF_NUM_INTRAOP_THREADS if set, else one per core). */
    threads: z.number().int().min(0).default(0),
    data: z
      .object({
        /** A registered dataset (`rsna-ich`, `manifest`, `folders`) with its options, e.g. `{ name: 'rsna-ich', root: 'demo-data' }`. */
        dataset: component,
        /** Predict one label row per patient, or one per slice (the slice-level RSNA setting). */
        level: z.enum(['patient', 'slice']).default('patient'),
        /** Deterministic steps then random augmentations; augmentations run in training only. */
        preprocess: preprocessConfigSchema.default([]),
        augmentPerSlice: z.boolean().default(false),
        maxSlices: z.number().int().positive().optional(),
        sliceLimit: z.enum(['crop', 'resample']).default('resample'),
        /** Folder for decoded slices (keyed by file and preprocessing); none when absent. Not the header-scan index. */
        cacheDir: z.string().optional(),
        /**
         * Folder for the header-scan index (each file's UIDs and position, so a rescan reads only changed files);
         * default $SLICESEQ_CACHE, else $XDG_CACHE_HOME/sliceseq, else ~/.cache/sliceseq; null: no index.
         */
        indexDir: z.string().nullable().optional(),
        /** Size limit of cacheDir's decoded slices in GiB; the least recently used are deleted beyond it (default: none). */
        cacheMaxGiB: z.number().positive().optional(),
        /**
         * How cacheDir stores slices: `lossless` (default: 8-bit where every value is k/255, as after CLAHE, else
         * float32) or `float16` (float slices at half size, lossy: see docs/data-at-scale.md for the worst error).
         */
        cachePrecision: z.enum(['lossless', 'float16']).optional(),
        prefetch: z.number().int().min(1).default(2),
        /**
         * Worker threads that read and preprocess patients while the main thread trains (default: cores − 1, at
         * least 1; 0 keeps all of it on the main thread). Results do not depend on the count.
         */
        workers: z.number().int().min(0).optional(),
        /** Two-stage mode: train on slice embeddings cached by `sliceseq extract` instead of images (embeddings-input.ts). */
        embeddings: embeddingsInputSchema.optional(),
      })
      .strict()
      .refine((data) => !data.embeddings || data.preprocess.length === 0, {
        message: 'must be empty with data.embeddings: slices were preprocessed when the embeddings were extracted',
        path: ['preprocess'],
      }),
    split: z
      .object({
        /**
         * Fraction of patients held out as the test set (stratified, seeded), or a labelled dataset of other
         * patients to test on, e.g. `{ name: 'rsna-ich', root: 'demo-data', split: 'test', labelsCsv: 'solution.csv' }`:
         * then every patient of data.dataset goes into the folds, and runs, cross-validation and ablations all
         * report on the same external patients.
         */
        test: z.union([z.number().min(0).max(0.9), component]).default(0.2),
        /** The rest is split into k folds by patient; the run validates on `fold`. */
        folds: z.number().int().min(2).default(5),
        fold: z.number().int().min(0).default(0),
      })
      .strict()
      .refine((s) => s.fold < s.folds, { message: 'fold must be smaller than folds', path: ['fold'] })
      .prefault({}),
    model: modelConfigSchema,
    loss: criterionConfigSchema.prefault({}),
    optimizer: component.default({ name: 'adam' }),
    schedule: component.default({ name: 'constant' }),
    train: z
      .object({
        epochs: z.number().int().positive(),
        batchSize: z.number().int().positive(),
        /** Clip the global gradient norm to this value; none when absent. */
        gradientClip: z.number().positive().optional(),
        /** Stop after this many epochs without improvement of the monitored metric; none when absent. */
        earlyStopping: z.number().int().positive().optional(),
        /** The validation metric that selects the best epoch (loss: lower is better; others: higher). */
        monitor: z.enum(monitorChoices).default('f2_samples'),
      })
      .strict(),
    evaluation: z
      .object({
        /** Tune one threshold per binary class, or one for all, on validation predictions. */
        thresholds: z.enum(['per-class', 'global']).default('per-class'),
        /** F2 of a row or class with no true and no predicted positive (scikit-learn's zero_division); metrics/policy.ts DEFAULT_ZERO_DIVISION. */
        zeroDivision: zeroDivisionValueSchema.default(DEFAULT_ZERO_DIVISION),
        /** Dense-ordinal regression maps: grade by the group's thresholds, or by thresholds tuned per type on validation to maximise QWK. */
        denseThresholds: z.enum(['fixed', 'tuned']).default('fixed'),
      })
      .strict()
      .prefault({}),
    /** Overrides applied by `--quick` (tests, smoke runs): a partial experiment merged on top. */
    quick: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

export type ExperimentInput = z.input<typeof experimentSchema>;
export type Experiment = z.output<typeof experimentSchema>;

/** Typed identity for experiment files: the editor checks the fields, `parseExperiment` validates them. */
export function defineExperiment(experiment: ExperimentInput): ExperimentInput {
  return experiment;
}

export function parseExperiment(value: unknown, where = 'experiment'): Experiment {
  return parseOrThrow(experimentSchema, value, where);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Objects merge key by key; anything else (arrays included) replaces. A component (`{ name, ...options }`) given
 * another name is replaced whole: the old component's options mean nothing to the new one.
 */
export function deepMerge(base: unknown, patch: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(patch)) return structuredClone(patch);
  if (typeof patch.name === 'string' && typeof base.name === 'string' && patch.name !== base.name) return structuredClone(patch);
  return mergeExperiment(base, patch);
}

/**
 * `deepMerge` for a whole experiment: the experiment is not a component, so its own `name` is a field like any
 * other (`--set name=x` renames the experiment; it does not replace it).
 */
export function mergeExperiment(base: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) merged[key] = key in base ? deepMerge(base[key], value) : structuredClone(value);
  return merged;
}

/** `--set a.b.c=value`: the value is parsed as JSON when it parses (numbers, booleans, arrays), else kept as text. */
export function applySet(target: Record<string, unknown>, assignment: string): Record<string, unknown> {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new Error(`--set expects key=value, got '${assignment}'`);
  const path = assignment.slice(0, eq).split('.');
  const text = assignment.slice(eq + 1);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = text;
  }
  const patch = path.reduceRight<unknown>((inner, key) => ({ [key]: inner }), value) as Record<string, unknown>;
  return mergeExperiment(target, patch);
}
