import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mean, std } from 'mathjs';
import { writeFileAtomic, writeJsonAtomic } from '../core/atomic.ts';
import { at, readCsv, requireColumns, type CsvTable } from '../data/datasets/csv.ts';
import { pairedBootstrap, type PairedBootstrapResult, type ScoreFunction } from '../metrics/bootstrap.ts';
import { fbetaScore, type FbetaAverage } from '../metrics/fbeta.ts';
import { binarize, concatRows, matrix, type Matrix } from '../metrics/matrix.ts';
import { DEFAULT_ZERO_DIVISION, type ZeroDivision } from '../metrics/policy.ts';
import { loadThresholds } from '../metrics/thresholds.ts';
import { patchPaths, type AblationPlan, type AblationTrial } from './ablation.ts';
import { isTrialFinished, readPlan } from './ablate.ts';

/**
 * Merges an ablation's trials (from however many machines wrote them) into `ablation-summary.json` and
 * `ablation-summary.md`: per variant the test-split F2 (samples / micro / macro) and ROC-AUC macro of every
 * trial with their mean ± standard deviation, and against the reference variant a paired bootstrap of the F2
 * difference on the same test patients, read back from each run's predictions-test.csv.
 */
export const SUMMARY_JSON = 'ablation-summary.json';
export const SUMMARY_MD = 'ablation-summary.md';

const f2Averages = ['samples', 'micro', 'macro'] as const satisfies readonly FbetaAverage[];
type F2Average = (typeof f2Averages)[number];

/** The F2 block of metrics.json the summary reads: at the tuned thresholds, or at 0.5. */
function f2Block(thresholds: AblationPlan['thresholds']): 'f2_tuned' | 'f2' {
  return thresholds === 'tuned' ? 'f2_tuned' : 'f2';
}

/**
 * The metrics summarised, as dot paths into a run's metrics.json `test` block: the three F2 averages
 * (`f2_tuned.samples` … or `f2.samples` … at 0.5) and `auc.macro`.
 */
export function summaryMetricKeys(thresholds: AblationPlan['thresholds']): string[] {
  return [...f2Averages.map((average) => `${f2Block(thresholds)}.${average}`), 'auc.macro'];
}

/** One finished trial. */
export interface TrialSummary {
  trial: string;
  seed: number;
  fold: number;
  /** The trial's run directory, relative to the ablation folder (the one holding this summary). */
  runDir: string;
  /** Test-split values by metric key; null where undefined (e.g. AUC of a class without positives). */
  values: Record<string, number | null>;
}

/** Paired bootstrap of variant − reference in one metric, on the pooled test rows of the seed/fold pairs. */
export interface PairedDifference {
  difference: number | null;
  /** Percentile interval at the summary's `confidence`. */
  lower: number | null;
  upper: number | null;
  /** Two-sided bootstrap p-value for "no difference". */
  pValue: number | null;
  /** The variant's and the reference's value on the pooled rows (difference = variant − reference). */
  variant: number | null;
  reference: number | null;
  /** Resamples where the difference was undefined (left out). */
  undefinedResamples: number;
}

export interface MetricSummary {
  /** Mean and sample standard deviation over the finished trials (null: no defined value, or fewer than two). */
  mean: number | null;
  std: number | null;
  /** F2 metrics of a variant other than the reference, once a seed/fold pair has finished for both. */
  vsReference?: PairedDifference;
}

export interface VariantSummary {
  name: string;
  isReference: boolean;
  /** What the variant changes in the base experiment, by dot path down to components (`model.decoder`: `{ name: 'dense' }`). */
  overrides: Record<string, unknown>;
  /** Finished trials, in seed then fold order. */
  trials: TrialSummary[];
  /** Planned trials without metrics.json yet. */
  missing: string[];
  /** By metric key, in the order of the summary's `metrics`. */
  metrics: Record<string, MetricSummary>;
  /** What the paired comparison with the reference pooled; null for the reference, or before any pair finished. */
  pairing: {
    against: string;
    /** The seed/fold pairs where both the variant and the reference finished. */
    pairs: Array<{ seed: number; fold: number }>;
    /** Test rows pooled (patients, or slices for slice-level runs), and the distinct patients resampled. */
    rows: number;
    patients: number;
  } | null;
}

/** The whole `ablation-summary.json`. */
export interface AblationSummary {
  format: 'sliceseq.ablation-summary/1';
  name: string;
  description: string;
  split: 'test';
  /** `tuned`: F2 at each run's thresholds tuned on its validation split; `fixed`: at 0.5. */
  thresholds: 'tuned' | 'fixed';
  /** Metric keys (dot paths into metrics.json `test`), in display order. */
  metrics: string[];
  reference: string;
  /** Level of every interval; p-values below 1 − confidence are significant at that level. */
  confidence: number;
  seeds: number[];
  folds: number;
  quick: boolean;
  bootstrap: {
    resamples: number;
    seed: number;
    /** What one bootstrap draw resamples, and how variant and reference rows are matched. */
    unit: 'patient';
    pairing: 'row id within the same seed and fold';
  };
  trials: { planned: number; finished: number };
  complete: boolean;
  variants: VariantSummary[];
}

function readJson(path: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`cannot read ${path}: ${(error as Error).message}`);
  }
}

function numberAt(value: unknown, path: string[]): number | null {
  let node = value;
  for (const key of path) node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
  return typeof node === 'number' ? node : null;
}

/** A finished trial's values, read from its metrics.json `test` block. */
function trialSummary(dir: string, trial: AblationTrial, keys: readonly string[]): TrialSummary {
  const path = join(dir, trial.name, 'metrics.json');
  const test = readJson(path).test;
  if (!test) throw new Error(`${path}: no test split scores (the ablation needs split.test > 0)`);
  const values: Record<string, number | null> = {};
  for (const key of keys) {
    values[key] = numberAt(test, key.split('.'));
    if (values[key] === null && !key.startsWith('auc.')) throw new Error(`${path}: test.${key} is missing`);
  }
  return { trial: trial.name, seed: trial.seed, fold: trial.fold, runDir: trial.name, values };
}

/** One run's test predictions as hard 0/1 decisions of the binary labels, with the targets and row ids. */
interface TestPredictions {
  ids: string[];
  patients: string[];
  decisions: Matrix<Float64Array>;
  targets: Matrix<Float64Array>;
  classes: string[];
  zeroDivision: ZeroDivision;
}

/** Slice-level rows name their patient in the `patient` column; a bootstrap draw takes a patient with all its slices. */
function patientsOf(table: CsvTable, level: unknown): string[] {
  if (level !== 'slice') return table.rows.map((row) => row.cells.id);
  requireColumns(table, ['patient']);
  return table.rows.map((row) => row.cells.patient);
}

async function readTestPredictions(trialDir: string, thresholds: AblationPlan['thresholds']): Promise<TestPredictions> {
  const config = readJson(join(trialDir, 'config.json')) as { data?: { level?: string }; evaluation?: { zeroDivision?: ZeroDivision } };
  const fitted = loadThresholds(join(trialDir, 'thresholds.json'));
  const classes = fitted.classes;
  const table = await readCsv(join(trialDir, 'predictions-test.csv'));
  requireColumns(table, ['id', ...classes, ...classes.map((c) => `true_${c}`)]);
  const rows = table.rows.length;
  const scores = new Float64Array(rows * classes.length);
  const targets = new Float64Array(rows * classes.length);
  table.rows.forEach((row, r) => {
    classes.forEach((name, c) => {
      const score = Number(row.cells[name]);
      const target = Number(row.cells[`true_${name}`]);
      if (!Number.isFinite(score)) throw new Error(`${at(table.file, row.line, name)}: '${row.cells[name]}' is not a number`);
      if (target !== 0 && target !== 1) throw new Error(`${at(table.file, row.line, `true_${name}`)}: '${row.cells[`true_${name}`]}' is not 0 or 1`);
      scores[r * classes.length + c] = score;
      targets[r * classes.length + c] = target;
    });
  });
  const ids = table.rows.map((row) => row.cells.id);
  const hard = binarize(matrix(scores, rows, classes.length), thresholds === 'tuned' ? fitted.thresholds : 0.5);
  return {
    ids,
    patients: patientsOf(table, config.data?.level),
    decisions: matrix(Float64Array.from(hard.data), rows, classes.length),
    targets: matrix(targets, rows, classes.length),
    classes,
    zeroDivision: config.evaluation?.zeroDivision ?? DEFAULT_ZERO_DIVISION,
  };
}

/** The variant's rows reordered to the reference's ids; the two must hold the same test rows. */
function alignRows(variant: TestPredictions, reference: TestPredictions, where: string): Matrix<Float64Array> {
  if (variant.classes.join('\u0000') !== reference.classes.join('\u0000')) {
    throw new Error(`${where}: labels [${variant.classes.join(', ')}] differ from the reference's [${reference.classes.join(', ')}]`);
  }
  const rowOf = new Map(variant.ids.map((id, r) => [id, r]));
  if (rowOf.size !== reference.ids.length || reference.ids.some((id) => !rowOf.has(id))) {
    throw new Error(`${where}: its test rows differ from the reference's (${variant.ids.length} vs ${reference.ids.length} rows): were they run on different data?`);
  }
  const cols = reference.classes.length;
  const out = new Float64Array(reference.ids.length * cols);
  reference.ids.forEach((id, r) => out.set(variant.decisions.data.subarray(rowOf.get(id)! * cols, (rowOf.get(id)! + 1) * cols), r * cols));
  return matrix(out, reference.ids.length, cols);
}

function pairedDifference(result: PairedBootstrapResult): PairedDifference {
  return {
    difference: result.estimate,
    variant: result.a,
    reference: result.b,
    lower: result.lower,
    upper: result.upper,
    pValue: result.pValue,
    undefinedResamples: result.undefinedResamples,
  };
}

interface Comparison {
  pairing: NonNullable<VariantSummary['pairing']>;
  f2: Record<F2Average, PairedDifference>;
}

/**
 * Paired bootstrap of variant − reference over the seed/fold pairs both finished: rows are matched by id within a
 * pair, pooled over pairs, and resampled by patient (a patient drawn brings its rows from every pair, since its
 * outcomes under different seeds are not independent).
 */
async function compare(
  plan: AblationPlan,
  dir: string,
  variant: string,
  finished: Set<string>,
  load: (trial: AblationTrial) => Promise<TestPredictions>,
): Promise<Comparison | null> {
  const pairs = plan.trials
    .filter((t) => t.variant === variant)
    .map((trial) => ({ trial, reference: plan.trials.find((t) => t.variant === plan.reference && t.seed === trial.seed && t.fold === trial.fold)! }))
    .filter(({ trial, reference }) => finished.has(trial.name) && finished.has(reference.name));
  if (pairs.length === 0) return null;
  const variantParts: Matrix<Float64Array>[] = [];
  const referenceParts: Matrix<Float64Array>[] = [];
  const targetParts: Matrix<Float64Array>[] = [];
  const patients: string[] = [];
  let zeroDivision: ZeroDivision = DEFAULT_ZERO_DIVISION;
  for (const { trial, reference } of pairs) {
    const ref = await load(reference);
    variantParts.push(alignRows(await load(trial), ref, join(dir, trial.name)));
    referenceParts.push(ref.decisions);
    targetParts.push(ref.targets);
    patients.push(...ref.patients);
    zeroDivision = ref.zeroDivision;
  }
  const decisionsA = concatRows(variantParts);
  const decisionsB = concatRows(referenceParts);
  const targets = concatRows(targetParts);
  const quiet = () => {};
  const { resamples, confidence, seed } = plan.bootstrap;
  const f2 = Object.fromEntries(
    f2Averages.map((average) => {
      // Decisions are already 0/1 at each run's own thresholds, so one score function serves both models.
      const score: ScoreFunction = (decisions, truth) => fbetaScore(decisions, truth, average, { beta: 2, threshold: 0.5, zeroDivision, warn: quiet });
      return [average, pairedDifference(pairedBootstrap(score, decisionsA, decisionsB, targets, { resamples, confidence, seed, patients, warn: quiet }))];
    }),
  ) as Record<F2Average, PairedDifference>;
  return {
    pairing: { against: plan.reference, pairs: pairs.map(({ trial }) => ({ seed: trial.seed, fold: trial.fold })), rows: targets.rows, patients: new Set(patients).size },
    f2,
  };
}

function meanStd(values: Array<number | null>): { mean: number | null; std: number | null } {
  const defined = values.filter((v): v is number => v !== null);
  return {
    mean: defined.length > 0 ? (mean(defined) as number) : null,
    std: defined.length > 1 ? (std(defined) as unknown as number) : null,
  };
}

/** Reads every finished trial below `dir` (an ablation folder) and computes the summary. */
export async function summarizeAblation(dir: string): Promise<AblationSummary> {
  const plan = readPlan(dir);
  const keys = summaryMetricKeys(plan.thresholds);
  const finished = new Set(plan.trials.filter((t) => isTrialFinished(dir, t)).map((t) => t.name));
  const cache = new Map<string, Promise<TestPredictions>>();
  const load = (trial: AblationTrial) => {
    if (!cache.has(trial.name)) cache.set(trial.name, readTestPredictions(join(dir, trial.name), plan.thresholds));
    return cache.get(trial.name)!;
  };
  const variants: VariantSummary[] = [];
  for (const variant of plan.variants) {
    const planned = plan.trials.filter((t) => t.variant === variant.name);
    const trials = planned.filter((t) => finished.has(t.name)).map((t) => trialSummary(dir, t, keys));
    const isReference = variant.name === plan.reference;
    const comparison = isReference ? null : await compare(plan, dir, variant.name, finished, load);
    const metrics = Object.fromEntries(
      keys.map((key) => {
        const average = f2Averages.find((a) => key === `${f2Block(plan.thresholds)}.${a}`);
        const vsReference = comparison && average ? { vsReference: comparison.f2[average] } : {};
        return [key, { ...meanStd(trials.map((t) => t.values[key])), ...vsReference }];
      }),
    );
    variants.push({
      name: variant.name,
      isReference,
      overrides: patchPaths(variant.overrides),
      trials,
      missing: planned.filter((t) => !finished.has(t.name)).map((t) => t.name),
      metrics,
      pairing: comparison?.pairing ?? null,
    });
  }
  return {
    format: 'sliceseq.ablation-summary/1',
    name: plan.name,
    description: plan.description,
    split: 'test',
    thresholds: plan.thresholds,
    metrics: keys,
    reference: plan.reference,
    confidence: plan.bootstrap.confidence,
    seeds: plan.seeds,
    folds: plan.folds,
    quick: plan.quick,
    bootstrap: { resamples: plan.bootstrap.resamples, seed: plan.bootstrap.seed, unit: 'patient', pairing: 'row id within the same seed and fold' },
    trials: { planned: plan.trials.length, finished: finished.size },
    complete: finished.size === plan.trials.length,
    variants,
  };
}

function metricTitle(key: string): string {
  const [block, average] = key.split('.');
  return `${block.startsWith('f2') ? 'F2' : block.toUpperCase()} ${average}`;
}

function fixed(value: number | null, digits = 3): string {
  return value === null ? 'n/a' : value.toFixed(digits);
}

function signed(value: number | null, digits = 3): string {
  return value === null ? 'n/a' : `${value >= 0 ? '+' : '−'}${Math.abs(value).toFixed(digits)}`;
}

function pValueText(p: number | null): string {
  return p === null ? 'n/a' : p < 0.001 ? '<0.001' : p.toFixed(3);
}

function table(header: string[], rows: string[][]): string[] {
  return [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`, ...rows.map((row) => `| ${row.join(' | ')} |`)];
}

/** The summary as Markdown: the scores table, the paired comparisons, and what is still missing. */
export function formatAblationSummary(summary: AblationSummary): string {
  const percent = Math.round(summary.confidence * 100);
  const thresholdText = summary.thresholds === 'tuned' ? 'at thresholds tuned on each run’s validation split' : 'at threshold 0.5';
  const compared = summary.metrics.filter((key) => summary.variants.some((v) => v.metrics[key]?.vsReference));
  const lines = [
    `# Ablation ${summary.name}${summary.quick ? ' (quick)' : ''}`,
    '',
    ...(summary.description ? [summary.description, ''] : []),
    `Test split, seeds ${summary.seeds.join(', ')}${summary.folds > 1 ? ` × ${summary.folds} folds` : ''}; F2 ${thresholdText}; ` +
      `mean ± standard deviation over trials; reference **${summary.reference}**. ` +
      `${summary.trials.finished} of ${summary.trials.planned} trials finished.`,
    '',
    ...table(
      ['variant', 'trials', ...summary.metrics.map(metricTitle)],
      summary.variants.map((v) => [
        v.isReference ? `**${v.name}** (reference)` : v.name,
        `${v.trials.length}/${v.trials.length + v.missing.length}`,
        ...summary.metrics.map((key) => {
          const { mean: m, std: s } = v.metrics[key];
          return m === null ? 'n/a' : s === null ? fixed(m) : `${fixed(m)} ± ${fixed(s)}`;
        }),
      ]),
    ),
    '',
    `## Against ${summary.reference}`,
    '',
    `Paired bootstrap of the difference (variant − reference) on the same test patients: rows matched by id within each seed/fold, ` +
      `pooled over the seed/fold pairs both finished, ${summary.bootstrap.resamples} resamples of patients (seed ${summary.bootstrap.seed}); ` +
      `${percent}% percentile intervals and two-sided p-values.`,
    '',
    ...table(
      ['variant', 'pairs', ...compared.flatMap((key) => [`Δ ${metricTitle(key)} [${percent}% CI]`, 'p'])],
      summary.variants
        .filter((v) => !v.isReference)
        .map((v) => [
          v.name,
          String(v.pairing?.pairs.length ?? 0),
          ...compared.flatMap((key) => {
            const d = v.metrics[key].vsReference;
            return d ? [`${signed(d.difference)} [${signed(d.lower)}, ${signed(d.upper)}]`, pValueText(d.pValue)] : ['n/a', 'n/a'];
          }),
        ]),
    ),
  ];
  const missing = summary.variants.flatMap((v) => v.missing);
  if (missing.length > 0) lines.push('', `Missing trials (${missing.length}): ${missing.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

/** Summarizes `dir` and writes ablation-summary.json and ablation-summary.md there (atomically). */
export async function writeAblationSummary(dir: string): Promise<AblationSummary> {
  const summary = await summarizeAblation(dir);
  writeJsonAtomic(join(dir, SUMMARY_JSON), summary);
  writeFileAtomic(join(dir, SUMMARY_MD), formatAblationSummary(summary));
  return summary;
}
