import { join } from 'node:path';
import { mean, std } from 'mathjs';
import { pairedBootstrap, type PairedBootstrapResult, type ScoreFunction } from '../metrics/bootstrap.ts';
import type { FbetaAverage } from '../metrics/fbeta.ts';
import { createMetric, scoreFunction } from '../metrics/registry.ts';
import { concatRows, matrix, type Matrix } from '../metrics/matrix.ts';
import { DEFAULT_ZERO_DIVISION, describeZeroDivision, type ZeroDivision } from '../metrics/policy.ts';
import { readAblationPlan, type AblationTrial } from '../runs/ablation-plan.ts';
import {
  ABLATION_SUMMARY_FORMAT,
  writeAblationSummaryFiles,
  type AblationSummary,
  type PairedDifference,
  type TrialSummary,
  type VariantSummary,
} from '../runs/ablation-summary.ts';
import { readRunConfig } from '../runs/config-file.ts';
import { runPath } from '../runs/layout.ts';
import { metricValue, readRunMetrics } from '../runs/metrics-file.ts';
import type { PredictionTable } from '../metrics/prediction-table.ts';
import { predictionsPath, readPredictionsFile } from '../runs/predictions.ts';
import { isRunFinished, readRunThresholds } from '../runs/run-dir.ts';
import { patchPaths, type AblationPlan } from './ablation.ts';
import { f2Key, metricKeys, metricTitle } from '../metrics/scores.ts';

/**
 * Merges an ablation's trials (from however many machines wrote them) into `ablation-summary.json` and
 * `ablation-summary.md`: per variant the test-split F2 (samples / micro / macro) and ROC-AUC macro of every
 * trial with their mean ± standard deviation, and against the reference variant a paired bootstrap of the F2
 * difference on the same test patients, read back from each run's predictions-test.csv.
 */
export type { AblationSummary, PairedDifference, TrialSummary, VariantSummary };

const f2Averages = ['samples', 'micro', 'macro'] as const satisfies readonly FbetaAverage[];
type F2Average = (typeof f2Averages)[number];

/**
 * The metrics summarised, as dot paths into a run's metrics.json `test` block (keys of the metric table): the
 * three F2 averages at the tuned thresholds or at 0.5, and ROC-AUC macro.
 */
export function summaryMetricKeys(thresholds: AblationPlan['thresholds']): string[] {
  return [...f2Averages.map((average) => f2Key(average, thresholds === 'tuned').path), metricKeys.aucMacro.path];
}

/** A finished trial's values, read from its metrics.json `test` block. */
function trialSummary(dir: string, trial: AblationTrial, keys: readonly string[]): TrialSummary {
  const trialDir = join(dir, trial.name);
  const path = runPath(trialDir, 'metrics');
  const test = readRunMetrics(trialDir).test;
  if (!test) throw new Error(`${path}: no test split scores (the ablation needs a test split: split.test > 0, or a labelled test dataset)`);
  const values: Record<string, number | null> = {};
  for (const key of keys) {
    values[key] = metricValue(test, key, path) ?? null;
    if (values[key] === null && key !== metricKeys.aucMacro.path) throw new Error(`${path}: test.${key} is missing`);
  }
  return { trial: trial.name, seed: trial.seed, fold: trial.fold, runDir: trial.name, values };
}

/**
 * A trial's test predictions of the binary classes, with the run's own 0/1 decisions (at its tuned thresholds,
 * or 0.5) and each row's patient: slice-level rows name it in the `patient` column (runs before it was written
 * named rows `<patient>:<slice>`); a bootstrap draw takes a patient with all its slices.
 */
async function readTrialPredictions(trialDir: string, thresholds: AblationPlan['thresholds']): Promise<PredictionTable> {
  const config = readRunConfig(trialDir);
  const fitted = readRunThresholds(trialDir);
  const table = (await readPredictionsFile(predictionsPath(trialDir, 'test'))).binary(fitted.classes);
  const decided = table.withDecisions({ classes: fitted.classes, thresholds: thresholds === 'tuned' ? fitted.thresholds : fitted.classes.map(() => 0.5) });
  if (config.data?.level !== 'slice') return decided.with({ patients: table.ids });
  return table.patients ? decided : decided.with({ patients: table.ids.map((id) => id.replace(/:\d+$/, '')) });
}

/** The zero-division policy a trial was scored with. */
function zeroDivisionOf(trialDir: string): ZeroDivision {
  return readRunConfig(trialDir).evaluation?.zeroDivision ?? DEFAULT_ZERO_DIVISION;
}

/** A table's decisions and targets as Float64 matrices (what the bootstrap's score function reads). */
function decisionsAndTargets(table: PredictionTable) {
  const asFloat = (m: Matrix) => matrix(Float64Array.from(m.data), m.rows, m.cols);
  return { decisions: asFloat(table.decisions!.values), targets: asFloat(table.targets()) };
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
  load: (trial: AblationTrial) => Promise<PredictionTable>,
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
  let classes: string[] = [];
  for (const { trial, reference } of pairs) {
    const refPredictions = await load(reference);
    const variantPredictions = await load(trial);
    if (variantPredictions.columns.join('\u0000') !== refPredictions.columns.join('\u0000')) {
      throw new Error(`${join(dir, trial.name)}: labels [${variantPredictions.columns.join(', ')}] differ from the reference's [${refPredictions.columns.join(', ')}]`);
    }
    const ref = decisionsAndTargets(refPredictions);
    variantParts.push(decisionsAndTargets(variantPredictions.alignTo(refPredictions.ids, refPredictions.source)).decisions);
    referenceParts.push(ref.decisions);
    targetParts.push(ref.targets);
    patients.push(...refPredictions.rowPatients());
    zeroDivision = zeroDivisionOf(join(dir, reference.name));
    classes = [...refPredictions.columns];
  }
  const decisionsA = concatRows(variantParts);
  const decisionsB = concatRows(referenceParts);
  const targets = concatRows(targetParts);
  const quiet = () => {};
  const { resamples, confidence, seed } = plan.bootstrap;
  const f2 = Object.fromEntries(
    f2Averages.map((average) => {
      // Decisions are already 0/1 at each run's own thresholds, so one score function serves both models.
      // The run's own F2 metric (the registry's), as the runs scored it.
      const f2Metric = scoreFunction(createMetric({ name: 'f2', average, threshold: 0.5, zeroDivision }, { columns: classes }));
      const score: ScoreFunction = (decisions, truth) => f2Metric(decisions, truth, quiet);
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
  const plan = readAblationPlan(dir);
  const keys = summaryMetricKeys(plan.thresholds);
  const finished = new Set(plan.trials.filter((t) => isRunFinished(join(dir, t.name))).map((t) => t.name));
  const cache = new Map<string, Promise<PredictionTable>>();
  const load = (trial: AblationTrial) => {
    if (!cache.has(trial.name)) cache.set(trial.name, readTrialPredictions(join(dir, trial.name), plan.thresholds));
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
        const average = f2Averages.find((a) => key === f2Key(a, plan.thresholds === 'tuned').path);
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
  const firstFinished = plan.trials.find((t) => finished.has(t.name));
  return {
    format: ABLATION_SUMMARY_FORMAT,
    name: plan.name,
    description: plan.description,
    split: 'test',
    thresholds: plan.thresholds,
    zeroDivision: firstFinished ? (readRunConfig(join(dir, firstFinished.name)).evaluation?.zeroDivision ?? DEFAULT_ZERO_DIVISION) : DEFAULT_ZERO_DIVISION,
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
    `Test split, seeds ${summary.seeds.join(', ')}${summary.folds > 1 ? ` × ${summary.folds} folds` : ''}; F2 ${thresholdText}` +
      `${summary.zeroDivision !== undefined ? `, ${describeZeroDivision(summary.zeroDivision)}` : ''}; ` +
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
  writeAblationSummaryFiles(dir, summary, formatAblationSummary(summary));
  return summary;
}
