import { z } from 'zod';
import { backendPreferences } from '../backend/preferences.ts';
import { parseOrThrow } from '../core/validate.ts';
import { isJsonObject } from '../core/json.ts';
import { criterionConfigSchema } from '../losses/criterion.ts';
import { DEFAULT_ZERO_DIVISION, zeroDivisionValueSchema } from '../metrics/policy.ts';
import { modelConfigSchema } from '../models/build.ts';
import { preprocessConfigSchema } from '../data/preprocess.ts';
import { metricKeys, monitorChoices } from '../metrics/scores.ts';

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
    cache: z.string().min(1).describe('The folder `sliceseq extract --cache` wrote.'),
    extract: z
      .object({
        experiment: z.string().min(1).describe('The first-stage experiment file.'),
        fromRun: z.string().min(1).optional().describe('`sliceseq extract --from-run`: the run whose trained CNN extracted.'),
        tta: z.boolean().default(false).describe('`--tta`: flip test-time augmentation in the extraction.'),
        quick: z.boolean().default(false).describe('`--quick` given to the extraction.'),
        sets: z.array(z.string()).default([]).describe('The `--set` overrides given to the extraction.'),
      })
      .strict()
      .optional()
      .describe('The extraction the cache must hold: the first-stage experiment file and the options `sliceseq extract` was given.'),
    fingerprint: z.string().regex(/^[0-9a-f]{16}$/, 'a 16-digit hex fingerprint as `sliceseq extract` prints it').optional().describe('Or the fingerprint `sliceseq extract` printed, pinned.'),
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
    name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'use letters, digits, _ . - only').describe('Names the run directory `<name>-seed<seed>-fold<fold>`.'),
    description: z.string().default('').describe('One line for reports and leaderboards.'),
    seed: z.number().int().min(0).default(0).describe('Seeds the split, the weights, the batch order and every augmentation draw.'),
    backend: z.enum(backendPreferences).default('auto').describe('`auto`: native TensorFlow when built, else wasm, else cpu (docs/backends.md).'),
    threads: z.number().int().min(0).default(0).describe('TensorFlow\'s intra-op threads on a native backend (0: TF_NUM_INTRAOP_THREADS if set, else one per core).'),
    data: z
      .object({
        dataset: component.describe('A registered dataset (`rsna-ich`, `manifest`, `folders`) with its options, e.g. `{ name: \'rsna-ich\', root: \'demo-data\' }`.'),
        level: z.enum(['patient', 'slice']).default('patient').describe('Predict one label row per patient, or one per slice (the slice-level RSNA setting).'),
        preprocess: preprocessConfigSchema.default([]).describe('Deterministic steps then random augmentations; augmentations run in training only.'),
        augmentPerSlice: z.boolean().default(false).describe('Draw augmentation parameters per slice instead of once per patient (the volume moving as one).'),
        maxSlices: z.number().int().positive().optional().describe('Slices per patient in training (a memory limit; prediction sees every slice).'),
        sliceLimit: z.enum(['crop', 'resample']).default('resample').describe('How a longer series fits maxSlices: the centre `crop`, or evenly spaced slices (`resample`).'),
        cacheDir: z.string().optional().describe('Folder for decoded slices (keyed by file and preprocessing); none when absent. Not the header-scan index.'),
        indexDir: z.string().nullable().optional().describe('Folder for the header-scan index (each file\'s UIDs and position, so a rescan reads only changed files); default $SLICESEQ_CACHE, else $XDG_CACHE_HOME/sliceseq, else ~/.cache/sliceseq; null: no index.'),
        cacheMaxGiB: z.number().positive().optional().describe('Size limit of cacheDir\'s decoded slices in GiB; the least recently used are deleted beyond it (default: none).'),
        cachePrecision: z.enum(['lossless', 'float16']).optional().describe('How cacheDir stores slices: `lossless` (default: 8-bit where every value is k/255, as after CLAHE, else float32) or `float16` (float slices at half size, lossy: docs/data-at-scale.md gives the worst error).'),
        prefetch: z.number().int().min(1).default(2).describe('Batches decoded ahead of training.'),
        workers: z.number().int().min(0).optional().describe('Worker threads that read and preprocess patients while the main thread trains (default: cores − 1, at least 1; 0 keeps all of it on the main thread). Results do not depend on the count.'),
        embeddings: embeddingsInputSchema.optional().describe('Two-stage mode: train on slice embeddings cached by `sliceseq extract` instead of images (embeddings-input.ts).'),
      })
      .strict()
      .refine((data) => !data.embeddings || data.preprocess.length === 0, {
        message: 'must be empty with data.embeddings: slices were preprocessed when the embeddings were extracted',
        path: ['preprocess'],
      }),
    split: z
      .object({
        test: z.union([z.number().min(0).max(0.9), component]).default(0.2).describe('Fraction of patients held out as the test set (stratified, seeded), or a labelled dataset of other patients to test on, e.g. `{ name: \'rsna-ich\', root: \'demo-data\', split: \'test\', labelsCsv: \'solution.csv\' }`: then every patient of data.dataset goes into the folds, and runs, cross-validation and ablations all report on the same external patients.'),
        folds: z.number().int().min(2).default(5).describe('The rest is split into k folds by patient; the run validates on `fold`.'),
        fold: z.number().int().min(0).default(0).describe('The validation fold (`--folds all` runs every one).'),
      })
      .strict()
      .refine((s) => s.fold < s.folds, { message: 'fold must be smaller than folds', path: ['fold'] })
      .prefault({}),
    model: modelConfigSchema.describe('The network: backbone → slice encoder → label decoder and heads, or a dense model (below).'),
    loss: criterionConfigSchema.prefault({}).describe('`{ groups: { <group>: { loss: { name, …options }, weight } } }`; groups left out get their kind\'s default loss.'),
    optimizer: component.default({ name: 'adam' }).describe('A registered optimizer with its options, e.g. `{ name: \'adam\', lr: 1e-3, groups: { backbone: { lrMultiplier: 0.1 } } }`.'),
    schedule: component.default({ name: 'constant' }).describe('A registered learning-rate schedule, e.g. `{ name: \'cosine\', warmupEpochs: 1 }`.'),
    train: z
      .object({
        epochs: z.number().int().positive().describe('Training epochs.'),
        batchSize: z.number().int().positive().describe('Patients per batch.'),
        gradientClip: z.number().positive().optional().describe('Clip the global gradient norm to this value; none when absent.'),
        earlyStopping: z.number().int().positive().optional().describe('Stop after this many epochs without improvement of the monitored metric; none when absent.'),
        monitor: z.enum(monitorChoices).default(metricKeys.f2Samples.monitor).describe('The validation metric that selects the best epoch (loss: lower is better; others: higher).'),
      })
      .strict(),
    evaluation: z
      .object({
        thresholds: z.enum(['per-class', 'global']).default('per-class').describe('Tune one threshold per binary class, or one for all, on validation predictions.'),
        zeroDivision: zeroDivisionValueSchema.default(DEFAULT_ZERO_DIVISION).describe('F2 of a row or class with no true and no predicted positive (scikit-learn\'s zero_division); metrics/policy.ts DEFAULT_ZERO_DIVISION.'),
        denseThresholds: z.enum(['fixed', 'tuned']).default('fixed').describe('Dense-ordinal regression maps: grade by the group\'s thresholds, or by thresholds tuned per type on validation to maximise QWK.'),
      })
      .strict()
      .prefault({}),
    report: z
      .object({
        tensorboard: z.boolean().default(true).describe('TensorBoard event files under the run\'s tensorboard/ (docs/tensorboard.md).'),
      })
      .strict()
      .prefault({})
      .describe('What the run records for people to look at while and after it trains.'),
    quick: z.record(z.string(), z.unknown()).default({}).describe('Overrides applied by `--quick` (tests, smoke runs): a partial experiment merged on top.'),
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

/**
 * Objects merge key by key; anything else (arrays included) replaces. A component (`{ name, ...options }`) given
 * another name is replaced whole: the old component's options mean nothing to the new one.
 */
export function deepMerge(base: unknown, patch: unknown): unknown {
  if (!isJsonObject(base) || !isJsonObject(patch)) return structuredClone(patch);
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
  if (path.some((key) => key.trim() === '')) throw new Error(`--set '${assignment}': an empty field name in '${assignment.slice(0, eq)}' (two dots in a row, or a dot at either end)`);
  const text = assignment.slice(eq + 1);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = text;
  }
  return mergeExperiment(target, patchFor(target, path, value, [], assignment));
}

/**
 * The patch that sets `path` to `value` in `node`: nested objects merged as `mergeExperiment` merges (a component
 * given another name is replaced), except where the path enters a list: an element is named by its index, e.g.
 * `data.preprocess.0.windows`, and the list comes back whole with that element changed.
 */
function patchFor(node: unknown, path: readonly string[], value: unknown, done: readonly string[], assignment: string): Record<string, unknown> {
  const [key, ...rest] = path;
  if (rest.length === 0) return { [key]: value };
  const child = isJsonObject(node) ? node[key] : undefined;
  if (child === undefined && /^\d+$/.test(rest[0])) throw new Error(`--set '${assignment}': ${[...done, key].join('.')} is not set in the experiment, so it has no element ${rest[0]}; set the whole list, e.g. --set '${[...done, key].join('.')}=[…]'`);
  if (!Array.isArray(child)) return { [key]: patchFor(child, rest, value, [...done, key], assignment) };
  const [indexText, ...inside] = rest;
  const index = /^\d+$/.test(indexText) ? Number(indexText) : Number.NaN;
  if (!(index < child.length)) {
    const where = [...done, key].join('.');
    throw new Error(`--set '${assignment}': ${where} is a list of ${child.length}; name an element by its index${child.length > 0 ? ` 0…${child.length - 1}` : ''}, e.g. ${where}.0, got '${indexText}'`);
  }
  const element = child[index];
  const changed = inside.length === 0 ? deepMerge(element, value) : deepMerge(element, patchFor(element, inside, value, [...done, key, indexText], assignment));
  return { [key]: child.map((item, i) => (i === index ? changed : item)) };
}
