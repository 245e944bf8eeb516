import { fbetaFromCounts, fbetaScore, type FbetaAverage } from './fbeta.ts';
import { checkBinaryProblem, type LabelMatrix, type ScoreMatrix } from './matrix.ts';
import { zeroDivisionValue, type ZeroDivision } from './policy.ts';
import { binaryCurve, type BinaryCurve } from './ranking.ts';

/**
 * Curve points for plots: the ROC and precision-recall curves of one binary column, laid out as scikit-learn's
 * `roc_curve` and `precision_recall_curve` return them, and F-beta as a function of the decision threshold.
 */
export interface RocCurve {
  /** False positive rate, rising from 0 to 1. */
  falsePositiveRate: Float64Array;
  truePositiveRate: Float64Array;
  /** The threshold of each point; the first is Infinity (nothing predicted positive). */
  thresholds: Float64Array;
}

export interface PrecisionRecallCurve {
  /** One more entry than `thresholds`: the last point is (recall 0, precision 1), as in scikit-learn. */
  precision: Float64Array;
  recall: Float64Array;
  /** Distinct scores, lowest first. */
  thresholds: Float64Array;
}

function checkedCurve(scores: ArrayLike<number>, labels: ArrayLike<number>, where: string): BinaryCurve {
  const data = Float64Array.from(scores);
  checkBinaryProblem({ data, rows: data.length, cols: 1 }, { data: Float64Array.from(labels), rows: labels.length, cols: 1 }, where);
  return binaryCurve(data, labels);
}

/**
 * The ROC curve; null when the labels have one value only (the curve is undefined). `dropIntermediate` (on by
 * default, as in scikit-learn) leaves out points on a straight segment, which do not change the plot.
 */
export function rocCurve(scores: ArrayLike<number>, labels: ArrayLike<number>, options: { dropIntermediate?: boolean } = {}): RocCurve | null {
  const curve = checkedCurve(scores, labels, 'ROC curve');
  if (curve.positives === 0 || curve.negatives === 0) return null;
  const tps = curve.truePositives;
  const fps = curve.falsePositives;
  let kept = Array.from({ length: tps.length }, (_, i) => i);
  if ((options.dropIntermediate ?? true) && tps.length > 2) {
    // A point is kept where the curve bends: a non-zero second difference in either coordinate.
    kept = kept.filter((i) => i === 0 || i === tps.length - 1 || fps[i + 1] - 2 * fps[i] + fps[i - 1] !== 0 || tps[i + 1] - 2 * tps[i] + tps[i - 1] !== 0);
  }
  const falsePositiveRate = new Float64Array(kept.length + 1);
  const truePositiveRate = new Float64Array(kept.length + 1);
  const thresholds = new Float64Array(kept.length + 1);
  thresholds[0] = Infinity;
  kept.forEach((i, k) => {
    falsePositiveRate[k + 1] = fps[i] / curve.negatives;
    truePositiveRate[k + 1] = tps[i] / curve.positives;
    thresholds[k + 1] = curve.thresholds[i];
  });
  return { falsePositiveRate, truePositiveRate, thresholds };
}

/** The precision-recall curve over every distinct score; null when there is no positive label (recall is undefined). */
export function precisionRecallCurve(scores: ArrayLike<number>, labels: ArrayLike<number>): PrecisionRecallCurve | null {
  const curve = checkedCurve(scores, labels, 'precision-recall curve');
  if (curve.positives === 0) return null;
  const steps = curve.truePositives.length;
  const precision = new Float64Array(steps + 1);
  const recall = new Float64Array(steps + 1);
  const thresholds = new Float64Array(steps);
  // Lowest threshold first (recall falling), as scikit-learn orders them.
  for (let k = 0; k < steps; k++) {
    const i = steps - 1 - k;
    const tp = curve.truePositives[i];
    const predicted = tp + curve.falsePositives[i];
    precision[k] = predicted > 0 ? tp / predicted : 0;
    recall[k] = tp / curve.positives;
    thresholds[k] = curve.thresholds[i];
  }
  precision[steps] = 1;
  recall[steps] = 0;
  return { precision, recall, thresholds };
}

export interface ThresholdCurveOptions {
  beta?: number;
  zeroDivision?: ZeroDivision;
}

/** How many distinct scores (sorted high to low) are at or above `threshold`. */
function stepsAtOrAbove(descending: Float64Array, threshold: number): number {
  let low = 0;
  let high = descending.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (descending[mid] >= threshold) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** F-beta of one binary column at each of `thresholds` (positive where `score >= threshold`). */
export function fbetaThresholdCurve(scores: ArrayLike<number>, labels: ArrayLike<number>, thresholds: ArrayLike<number>, options: ThresholdCurveOptions = {}): Float64Array {
  const curve = checkedCurve(scores, labels, 'F-beta threshold curve');
  const beta = options.beta ?? 2;
  const zeroValue = zeroDivisionValue(options.zeroDivision ?? 'warn');
  const out = new Float64Array(thresholds.length);
  for (let k = 0; k < thresholds.length; k++) {
    const steps = stepsAtOrAbove(curve.thresholds, thresholds[k]);
    const tp = steps > 0 ? curve.truePositives[steps - 1] : 0;
    const fp = steps > 0 ? curve.falsePositives[steps - 1] : 0;
    out[k] = fbetaFromCounts(tp, fp, curve.positives - tp, beta * beta, zeroValue);
  }
  return out;
}

export interface ObjectiveCurveOptions extends ThresholdCurveOptions {
  average?: FbetaAverage;
}

/**
 * The averaged F-beta (the threshold search's objective) as one class's threshold moves over `grid` while every
 * other class keeps its threshold from `fixed`: the curve a per-class tuned threshold is the maximum of.
 */
export function objectiveThresholdCurve(
  scores: ScoreMatrix,
  targets: LabelMatrix,
  fixed: ArrayLike<number>,
  column: number,
  grid: ArrayLike<number>,
  options: ObjectiveCurveOptions = {},
): Float64Array {
  if (fixed.length !== scores.cols) throw new Error(`objective threshold curve: ${fixed.length} thresholds for ${scores.cols} classes`);
  if (!Number.isInteger(column) || column < 0 || column >= scores.cols) throw new Error(`objective threshold curve: no class column ${column}`);
  const thresholds = Array.from(fixed);
  const quiet = { beta: options.beta ?? 2, zeroDivision: options.zeroDivision ?? 'warn', warn: () => {} } as const;
  return Float64Array.from(Array.from(grid), (threshold) => {
    thresholds[column] = threshold;
    return fbetaScore(scores, targets, options.average ?? 'samples', { ...quiet, threshold: thresholds });
  });
}

/** `steps + 1` evenly spaced thresholds over [0, 1] plus `extra` ones (e.g. tuned thresholds), sorted, without repeats. */
export function thresholdGrid(steps: number, extra: readonly number[] = []): number[] {
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`threshold grid: steps must be a positive integer, got ${steps}`);
  const values = [...Array.from({ length: steps + 1 }, (_, i) => i / steps), ...extra];
  return [...new Set(values)].sort((a, b) => a - b);
}
