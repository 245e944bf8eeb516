import { z } from 'zod';
import { Rng } from '../core/rng.ts';
import { parseOrThrow } from '../core/validate.ts';
import { isJsonObject } from '../core/json.ts';
import { runDirName } from '../runs/layout.ts';
import { ABLATION_PLAN_FORMAT, ablationThresholdModes, type AblationPlanFile, type AblationTrial } from '../runs/ablation-plan.ts';
import { deepMerge, mergeExperiment, parseExperiment, type ExperimentInput } from './config.ts';
import { resolveExperiment } from './resolve.ts';

/**
 * An ablation is one base experiment, named variants (each an object patch deep-merged into the base), a
 * reference variant the others are compared with, and how many seeds (and folds) each variant runs. Ablation
 * files in experiments/ `export default defineAblation({...})`. Everything here is pure: the grid of trials and
 * each machine's share of it follow from the ablation and the command-line sizes alone, so every process of a
 * cluster job array computes the same grid.
 */
export const ablationNamePattern = /^[A-Za-z0-9_.-]+$/;
const nameRule = 'use letters, digits, _ . - only';

/** A count (seeds 0 … n-1) or the seeds themselves. */
const seedsSchema = z.union([
  z.number().int().min(1),
  z
    .array(z.number().int().min(0))
    .min(1)
    .refine((seeds) => new Set(seeds).size === seeds.length, { message: 'seeds must not repeat' }),
]);
/** 1: each trial runs the base split's validation fold; K >= 2: folds 0 … K-1 of a K-fold split. */
const foldsSchema = z.number().int().min(1);


const patchSchema = z.record(z.string(), z.unknown());

export const ablationSchema = z
  .object({
    name: z.string().regex(ablationNamePattern, nameRule).optional().describe('The output folder below `--out`; the file\'s name (without extension) when absent.'),
    description: z.string().default('').describe('One line for the summary and report.'),
    base: patchSchema.describe('The experiment every variant starts from (validated per variant, after its patch).'),
    variants: z.record(z.string(), patchSchema).describe('Variant name → patch, e.g. `{ model: { decoder: { name: \'gru\', hidden: 32 } } }`; a dotted key is a path (`{ \'train.epochs\': 3 }`). A component given another name replaces the base\'s component whole.'),
    reference: z.string().describe('The variant every other one is compared with (paired bootstrap of the F2 difference).'),
    seeds: seedsSchema.default(3).describe('A count (seeds 0 … n-1) or the seeds themselves.'),
    folds: foldsSchema.default(1).describe('1: each trial runs the base split\'s validation fold; K ≥ 2: folds 0 … K-1 of a K-fold split.'),
    thresholds: z.enum(ablationThresholdModes).default('tuned').describe('Score F2 at the thresholds each run tuned on its validation split (`tuned`), or at 0.5 (`fixed`).'),
    bootstrap: z
      .object({
        resamples: z.number().int().min(1).default(1000),
        confidence: z.number().gt(0).lt(1).default(0.95),
        seed: z.number().int().min(0).default(0),
      })
      .strict()
      .prefault({})
      .describe('The paired bootstrap of each variant\'s difference from the reference, over the same test patients.'),
    quick: z
      .object({
        seeds: seedsSchema.optional(),
        folds: foldsSchema.optional(),
        experiment: patchSchema.default({}),
      })
      .strict()
      .prefault({})
      .describe('`--quick`: fewer seeds or folds, and a patch applied after the base\'s own quick overrides.'),
  })
  .strict()
  .superRefine((ablation, ctx) => {
    const names = Object.keys(ablation.variants);
    if (names.length === 0) ctx.addIssue({ code: 'custom', path: ['variants'], message: 'give at least one variant' });
    for (const name of names) {
      if (!ablationNamePattern.test(name)) ctx.addIssue({ code: 'custom', path: ['variants', name], message: `variant name '${name}': ${nameRule}` });
    }
    if (names.length > 0 && !names.includes(ablation.reference)) {
      ctx.addIssue({ code: 'custom', path: ['reference'], message: `'${ablation.reference}' is not a variant; variants: ${names.join(', ')}` });
    }
  });

export type AblationInput = Omit<z.input<typeof ablationSchema>, 'base'> & { base: ExperimentInput };
export type Ablation = Omit<z.output<typeof ablationSchema>, 'base'> & { base: ExperimentInput };

/** Typed identity for ablation files: the editor checks the fields, `parseAblation` validates them. */
export function defineAblation(ablation: AblationInput): AblationInput {
  return ablation;
}

/** Validates an ablation; `defaultName` (usually the file's name) names it when it has no `name`. */
export function parseAblation(value: unknown, where = 'ablation', defaultName?: string): Ablation & { name: string } {
  const parsed = parseOrThrow(ablationSchema, value, where) as Ablation;
  const name = parsed.name ?? defaultName;
  if (!name) throw new Error(`invalid ${where}:\n  name: required when the ablation does not come from a file`);
  if (!ablationNamePattern.test(name)) throw new Error(`invalid ${where}:\n  name: '${name}': ${nameRule}`);
  return { ...parsed, name };
}

/** `{ 'model.decoder': { name: 'gru' }, train: { epochs: 3 } }` → the same patch with every dotted key nested. */
export function expandPatch(patch: Record<string, unknown>): Record<string, unknown> {
  let expanded: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(patch)) {
    const path = key.split('.');
    if (path.some((part) => part === '')) throw new Error(`patch key '${key}': empty path segment`);
    const inner = isJsonObject(value) ? expandPatch(value) : value;
    expanded = deepMerge(expanded, path.reduceRight<unknown>((nested, part) => ({ [part]: nested }), inner)) as Record<string, unknown>;
  }
  return expanded;
}

/**
 * A nested patch as dot paths, down to components: `{ model: { decoder: { name: 'dense' } } }` →
 * `{ 'model.decoder': { name: 'dense' } }`. A component (an object with a `name`) stays whole, since it replaces
 * the base's whole; `expandPatch` turns the result back into the same patch.
 */
export function patchPaths(patch: Record<string, unknown>, prefix = ''): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(patch)) {
    const path = `${prefix}${key}`;
    if (isJsonObject(value) && typeof value.name !== 'string' && Object.keys(value).length > 0) Object.assign(paths, patchPaths(value, `${path}.`));
    else paths[path] = value;
  }
  return paths;
}

export interface PlanOptions {
  /** `--seeds N`: seeds 0 … N-1 instead of the file's. */
  seeds?: number;
  /** `--folds K`. */
  folds?: number;
  quick?: boolean;
}

/** The plan's types are its file's (runs/ablation-plan.ts): `ablation.json` is the plan as it runs. */
export type AblationPlan = AblationPlanFile;
export type AblationVariant = AblationPlan['variants'][number];
export type { AblationTrial };

function seedList(seeds: number | number[]): number[] {
  return typeof seeds === 'number' ? Array.from({ length: seeds }, (_, i) => i) : [...seeds];
}

function checkCount(value: number | undefined, flag: string): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= 1)) throw new Error(`${flag} must be a positive integer, got ${value}`);
}

/** A trial's run directory name, as a single run of its variant would be named. */
export function trialName(variant: string, seed: number, fold: number): string {
  return runDirName(variant, seed, fold);
}

/** The grid: each variant × seed × fold, from the ablation and the command-line sizes. */
export function planAblation(ablation: Ablation & { name: string }, options: PlanOptions = {}): AblationPlan {
  checkCount(options.seeds, '--seeds');
  checkCount(options.folds, '--folds');
  const quick = options.quick ?? false;
  const seeds = options.seeds !== undefined ? seedList(options.seeds) : seedList((quick ? ablation.quick.seeds : undefined) ?? ablation.seeds);
  const folds = options.folds ?? (quick ? ablation.quick.folds : undefined) ?? ablation.folds;
  let base = ablation.base as Record<string, unknown>;
  if (quick) base = mergeExperiment(mergeExperiment(base, (base.quick ?? {}) as Record<string, unknown>), ablation.quick.experiment);
  const variants = Object.entries(ablation.variants).map(([name, patch]) => {
    const overrides = expandPatch(patch);
    const experiment = { ...(mergeExperiment(base, overrides) as ExperimentInput), quick: {} };
    return { name, overrides, experiment };
  });
  // One fold: the one the variant's split names (fold 0 unless the base says otherwise).
  const foldsOf = new Map(
    variants.map((variant) => [
      variant.name,
      folds > 1 ? Array.from({ length: folds }, (_, f) => f) : [parseExperiment(variant.experiment, `ablation '${ablation.name}', variant '${variant.name}'`).split.fold],
    ]),
  );
  const trials: AblationTrial[] = [];
  for (const seed of seeds) {
    for (let f = 0; f < folds; f++) {
      for (const variant of variants) {
        const fold = foldsOf.get(variant.name)![f];
        trials.push({ name: trialName(variant.name, seed, fold), variant: variant.name, seed, fold });
      }
    }
  }
  return {
    format: ABLATION_PLAN_FORMAT,
    name: ablation.name,
    description: ablation.description,
    reference: ablation.reference,
    quick,
    seeds,
    folds,
    thresholds: ablation.thresholds,
    bootstrap: ablation.bootstrap,
    variants,
    trials,
  };
}

export function variantOf(plan: AblationPlan, name: string): AblationVariant {
  const variant = plan.variants.find((v) => v.name === name);
  if (!variant) throw new Error(`ablation '${plan.name}' has no variant '${name}'; variants: ${plan.variants.map((v) => v.name).join(', ')}`);
  return variant;
}

/** The experiment one trial runs: its variant's experiment with the trial's seed (and fold, in K-fold mode). */
export function trialExperiment(plan: AblationPlan, trial: AblationTrial): ExperimentInput {
  const split = plan.folds > 1 ? { split: { folds: plan.folds, fold: trial.fold } } : {};
  return mergeExperiment(variantOf(plan, trial.variant).experiment, { seed: trial.seed, ...split }) as ExperimentInput;
}

/**
 * Checks every trial's experiment as `sliceseq run` would, plus the model components' options, so a typo in
 * the last variant fails before the first trial trains. The error names the variant.
 */
export function checkPlan(plan: AblationPlan, options: { data?: string } = {}): void {
  const checked = new Set<string>();
  for (const trial of plan.trials) {
    if (checked.has(trial.variant)) continue;
    checked.add(trial.variant);
    try {
      resolveExperiment(trialExperiment(plan, trial), { data: options.data });
    } catch (error) {
      throw new Error(`ablation '${plan.name}', variant '${trial.variant}': ${(error as Error).message}`);
    }
  }
}

/** One machine's part of the grid: `index` counts from 0. */
export interface Shard {
  index: number;
  count: number;
}

/** `--shard i/n`, i counting from 1 (`1/4` … `4/4`). */
export function parseShard(text: string, where = '--shard'): Shard {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const count = match ? Number(match[2]) : NaN;
  const position = match ? Number(match[1]) : NaN;
  if (!match || count < 1 || position < 1 || position > count) {
    throw new Error(`${where} expects i/n with 1 <= i <= n (e.g. 2/4 for the second of four machines), got '${text}'`);
  }
  return { index: position - 1, count };
}

function envInteger(env: NodeJS.ProcessEnv, key: string, fallback?: number): number {
  const text = env[key];
  if (text === undefined || text === '') {
    if (fallback !== undefined) return fallback;
    throw new Error(`${key} is not set (a SLURM job array sets it with SLURM_ARRAY_TASK_ID)`);
  }
  const value = Number(text);
  if (!Number.isInteger(value)) throw new Error(`${key} must be an integer, got '${text}'`);
  return value;
}

/**
 * The shard of a SLURM job array task (`sbatch --array=0-3`, or `1-4`, or `0-6:2`): the task's position among
 * SLURM_ARRAY_TASK_COUNT tasks, counted from SLURM_ARRAY_TASK_MIN in steps of SLURM_ARRAY_TASK_STEP.
 * Undefined outside a job array.
 */
export function shardFromEnv(env: NodeJS.ProcessEnv = process.env): Shard | undefined {
  if (env.SLURM_ARRAY_TASK_ID === undefined || env.SLURM_ARRAY_TASK_ID === '') return undefined;
  const id = envInteger(env, 'SLURM_ARRAY_TASK_ID');
  const count = envInteger(env, 'SLURM_ARRAY_TASK_COUNT');
  const min = envInteger(env, 'SLURM_ARRAY_TASK_MIN', 0);
  const step = envInteger(env, 'SLURM_ARRAY_TASK_STEP', 1);
  const index = (id - min) / step;
  if (count < 1 || step < 1 || !Number.isInteger(index) || index < 0 || index >= count) {
    throw new Error(
      `SLURM_ARRAY_TASK_ID=${id} is not one of the ${count} array tasks counted from SLURM_ARRAY_TASK_MIN=${min} in steps of ${step}`,
    );
  }
  return { index, count };
}

/**
 * Trials are dealt round-robin in a fixed pseudo-random order (the same on every machine): shard sizes differ by
 * at most one, and cheap and costly variants spread over the shards instead of lining up with them. Each shard
 * keeps the grid's order.
 */
export function shardTrials<T>(trials: readonly T[], shard?: Shard): T[] {
  if (!shard) return [...trials];
  const order = Rng.derive(0, 'ablation-shards', trials.length).shuffle(trials.map((_, k) => k));
  const mine = new Set(order.filter((_, position) => position % shard.count === shard.index));
  return trials.filter((_, k) => mine.has(k));
}

export function formatShard(shard: Shard): string {
  return `${shard.index + 1}/${shard.count}`;
}
