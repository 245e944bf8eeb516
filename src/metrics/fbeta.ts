import { binarize, checkBinaryProblem, sumOf, type LabelMatrix, type Matrix, type ScoreMatrix } from './matrix.ts';
import {
  classLabel,
  listSome,
  rowLabel,
  warnToLog,
  zeroDivisionValue,
  type AbsentClassPolicy,
  type ReportingOptions,
  type ZeroDivision,
} from './policy.ts';

/**
 * Precision, recall and F-beta for multi-label predictions, computed the way scikit-learn's
 * `precision_recall_fscore_support` does (same averages, same zero-division policy), so scores here and there
 * agree. `samples` — the per-row mean — is the "mean F2" of Kaggle multi-label leaderboards.
 */
export type FbetaAverage = 'samples' | 'micro' | 'macro' | 'weighted';

export interface FbetaOptions extends ReportingOptions {
  /** Recall weighs beta times as much as precision; 2 by default. */
  beta?: number;
  /** A prediction is positive where `score >= threshold`; one number or one per class (0.5 by default). */
  threshold?: number | ArrayLike<number>;
  zeroDivision?: ZeroDivision;
  absentClasses?: AbsentClassPolicy;
}

export interface PrecisionRecallFbeta {
  precision: number;
  recall: number;
  fbeta: number;
}

export interface PerClassPrecisionRecallFbeta {
  /** null for a class left out by `absentClasses: 'exclude'`. */
  precision: (number | null)[];
  recall: (number | null)[];
  fbeta: (number | null)[];
  /** Number of positive targets per class. */
  support: number[];
}

export type PrfQuantity = 'precision' | 'recall' | 'fbeta';
type Quantity = PrfQuantity;

/** True-positive, false-positive and false-negative counts per unit (a class or a row). */
interface Counts {
  tp: Float64Array;
  fp: Float64Array;
  fn: Float64Array;
}

interface Prepared {
  predicted: Matrix<Uint8Array>;
  targets: LabelMatrix;
  /** The columns scored (all, or those with a positive target under `absentClasses: 'exclude'`). */
  kept: number[];
  beta2: number;
  zeroValue: number;
  options: FbetaOptions;
}

function prepare(scores: ScoreMatrix, targets: LabelMatrix, options: FbetaOptions, where: string): Prepared {
  checkBinaryProblem(scores, targets, where);
  const beta = options.beta ?? 2;
  if (!(beta >= 0 && Number.isFinite(beta))) throw new Error(`${where}: beta must be a finite number >= 0, got ${beta}`);
  const predicted = binarize(scores, options.threshold ?? 0.5);
  const support = countByClass(predicted, targets, allColumns(targets.cols));
  let kept = allColumns(targets.cols);
  if ((options.absentClasses ?? 'include') === 'exclude') {
    const absent = kept.filter((j) => support.tp[j] + support.fn[j] === 0);
    if (absent.length === targets.cols) throw new Error(`${where}: no class has a positive target, nothing left to score`);
    if (absent.length > 0) {
      (options.warn ?? warnToLog)(
        `${where}: left out ${absent.length} class(es) with no positive target (absentClasses 'exclude'): ` +
          listSome(absent.map((j) => classLabel(options, j))),
      );
      kept = kept.filter((j) => !absent.includes(j));
    }
  }
  return {
    predicted,
    targets,
    kept,
    beta2: beta * beta,
    zeroValue: zeroDivisionValue(options.zeroDivision ?? 'warn'),
    options,
  };
}

function allColumns(cols: number): number[] {
  return Array.from({ length: cols }, (_, j) => j);
}

function countByClass(predicted: Matrix<Uint8Array>, targets: LabelMatrix, kept: readonly number[]): Counts {
  const counts = { tp: new Float64Array(kept.length), fp: new Float64Array(kept.length), fn: new Float64Array(kept.length) };
  const { rows, cols } = targets;
  for (let r = 0; r < rows; r++) {
    kept.forEach((j, u) => tally(counts, u, predicted.data[r * cols + j], targets.data[r * cols + j]));
  }
  return counts;
}

function countByRow(predicted: Matrix<Uint8Array>, targets: LabelMatrix, kept: readonly number[]): Counts {
  const { rows, cols } = targets;
  const counts = { tp: new Float64Array(rows), fp: new Float64Array(rows), fn: new Float64Array(rows) };
  for (let r = 0; r < rows; r++) {
    for (const j of kept) tally(counts, r, predicted.data[r * cols + j], targets.data[r * cols + j]);
  }
  return counts;
}

function tally(counts: Counts, unit: number, predicted: number, target: number): void {
  if (predicted && target) counts.tp[unit]++;
  else if (predicted) counts.fp[unit]++;
  else if (target) counts.fn[unit]++;
}

function ratio(numerator: number, denominator: number, zeroValue: number): number {
  return denominator === 0 ? zeroValue : numerator / denominator;
}

/** F-beta from counts; equal to scikit-learn's harmonic mean of (zero-division-substituted) precision and recall. */
export function fbetaFromCounts(tp: number, fp: number, fn: number, beta2: number, zeroValue: number): number {
  if (tp === 0) return fp + fn === 0 ? zeroValue : 0;
  return ((1 + beta2) * tp) / ((1 + beta2) * tp + beta2 * fn + fp);
}

/** Per-unit precision, recall and F-beta, and which units hit a zero denominator. */
function scoreUnits(counts: Counts, p: Prepared) {
  const n = counts.tp.length;
  const precision = new Float64Array(n);
  const recall = new Float64Array(n);
  const fbeta = new Float64Array(n);
  const illDefined: Record<Quantity, number[]> = { precision: [], recall: [], fbeta: [] };
  for (let u = 0; u < n; u++) {
    const tp = counts.tp[u];
    const predictedPositives = tp + counts.fp[u];
    const truePositives = tp + counts.fn[u];
    precision[u] = ratio(tp, predictedPositives, p.zeroValue);
    recall[u] = ratio(tp, truePositives, p.zeroValue);
    fbeta[u] = fbetaFromCounts(tp, counts.fp[u], counts.fn[u], p.beta2, p.zeroValue);
    if (predictedPositives === 0) illDefined.precision.push(u);
    if (truePositives === 0) illDefined.recall.push(u);
    if (predictedPositives === 0 && truePositives === 0) illDefined.fbeta.push(u);
  }
  return { precision, recall, fbeta, illDefined };
}

const why: Record<Quantity, string> = {
  precision: 'no predicted positives',
  recall: 'no true positives',
  fbeta: 'no true and no predicted positives',
};

function warnIllDefined(
  illDefined: Record<Quantity, number[]>,
  warnFor: readonly Quantity[],
  describe: (unit: number) => string,
  unitName: string,
  p: Prepared,
  where: string,
): void {
  if ((p.options.zeroDivision ?? 'warn') !== 'warn') return;
  const warn = p.options.warn ?? warnToLog;
  for (const quantity of warnFor) {
    const units = illDefined[quantity];
    if (units.length === 0) continue;
    warn(
      `${where}: ${quantity} is ill-defined for ${units.length} ${unitName}(s) with ${why[quantity]} ` +
        `(${listSome(units.map(describe))}); scored 0 — set zeroDivision to 0 or 1 to choose`,
    );
  }
}

function mean(values: Float64Array, weights?: Float64Array): number {
  let sum = 0;
  let total = 0;
  for (let i = 0; i < values.length; i++) {
    const w = weights ? weights[i] : 1;
    sum += w * values[i];
    total += w;
  }
  return sum / total;
}

function averaged(
  scores: ScoreMatrix,
  targets: LabelMatrix,
  average: FbetaAverage,
  options: FbetaOptions,
  warnFor: readonly Quantity[],
  where: string,
): PrecisionRecallFbeta {
  const p = prepare(scores, targets, options, where);
  if (targets.rows === 0) throw new Error(`${where}: no rows to score`);
  if (average === 'samples') {
    const units = scoreUnits(countByRow(p.predicted, targets, p.kept), p);
    warnIllDefined(units.illDefined, warnFor, (r) => rowLabel(p.options, r), 'row', p, where);
    return { precision: mean(units.precision), recall: mean(units.recall), fbeta: mean(units.fbeta) };
  }
  const byClass = countByClass(p.predicted, targets, p.kept);
  const describeClass = (u: number) => classLabel(p.options, p.kept[u]);
  if (average === 'micro') {
    const total = { tp: Float64Array.of(sumOf(byClass.tp)), fp: Float64Array.of(sumOf(byClass.fp)), fn: Float64Array.of(sumOf(byClass.fn)) };
    const units = scoreUnits(total, p);
    warnIllDefined(units.illDefined, warnFor, () => 'all classes pooled', 'pool', p, where);
    return { precision: units.precision[0], recall: units.recall[0], fbeta: units.fbeta[0] };
  }
  const units = scoreUnits(byClass, p);
  warnIllDefined(units.illDefined, warnFor, describeClass, 'class', p, where);
  if (average === 'macro') return { precision: mean(units.precision), recall: mean(units.recall), fbeta: mean(units.fbeta) };
  const support = byClass.tp.map((tp, u) => tp + byClass.fn[u]);
  if (support.every((s) => s === 0)) {
    // scikit-learn's rule when no class has support: the zero-division value if nothing is predicted either.
    const nothingPredicted = byClass.fp.every((fp) => fp === 0);
    return { precision: nothingPredicted ? p.zeroValue : 0, recall: p.zeroValue, fbeta: nothingPredicted ? p.zeroValue : 0 };
  }
  return { precision: mean(units.precision, support), recall: mean(units.recall, support), fbeta: mean(units.fbeta, support) };
}

/** Averaged precision, recall and F-beta (scikit-learn's `precision_recall_fscore_support` with an average). */
export function precisionRecallFbeta(
  scores: ScoreMatrix,
  targets: LabelMatrix,
  average: FbetaAverage,
  options: FbetaOptions = {},
): PrecisionRecallFbeta {
  return averaged(scores, targets, average, options, ['precision', 'recall', 'fbeta'], `precision/recall/F${options.beta ?? 2} (${average})`);
}

/**
 * Per-class precision, recall, F-beta and support (scikit-learn's `average=None`); zero-division notes are
 * given for the quantities in `warnFor` (all three by default).
 */
export function precisionRecallFbetaPerClass(
  scores: ScoreMatrix,
  targets: LabelMatrix,
  options: FbetaOptions = {},
  warnFor: readonly PrfQuantity[] = ['precision', 'recall', 'fbeta'],
): PerClassPrecisionRecallFbeta {
  const where = `precision/recall/F${options.beta ?? 2} per class`;
  const p = prepare(scores, targets, options, where);
  const all = allColumns(targets.cols);
  const byClass = countByClass(p.predicted, targets, all);
  const units = scoreUnits(byClass, p);
  const keptUnits = { precision: [], recall: [], fbeta: [] } as Record<Quantity, number[]>;
  for (const quantity of ['precision', 'recall', 'fbeta'] as const) {
    keptUnits[quantity] = units.illDefined[quantity].filter((j) => p.kept.includes(j));
  }
  warnIllDefined(keptUnits, warnFor, (j) => classLabel(options, j), 'class', p, where);
  const orNull = (values: Float64Array) => all.map((j) => (p.kept.includes(j) ? values[j] : null));
  return {
    precision: orNull(units.precision),
    recall: orNull(units.recall),
    fbeta: orNull(units.fbeta),
    support: all.map((j) => byClass.tp[j] + byClass.fn[j]),
  };
}

/** F-beta (F2 by default) with the given average; `samples` is the Kaggle "mean F2". */
export function fbetaScore(scores: ScoreMatrix, targets: LabelMatrix, average: FbetaAverage = 'samples', options: FbetaOptions = {}): number {
  return averaged(scores, targets, average, options, ['fbeta'], `F${options.beta ?? 2} (${average})`).fbeta;
}

export function precisionScore(scores: ScoreMatrix, targets: LabelMatrix, average: FbetaAverage, options: FbetaOptions = {}): number {
  return averaged(scores, targets, average, options, ['precision'], `precision (${average})`).precision;
}

export function recallScore(scores: ScoreMatrix, targets: LabelMatrix, average: FbetaAverage, options: FbetaOptions = {}): number {
  return averaged(scores, targets, average, options, ['recall'], `recall (${average})`).recall;
}
