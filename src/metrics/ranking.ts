import { checkBinaryProblem, column, meanDefined, sumOf, type LabelMatrix, type ScoreMatrix } from './matrix.ts';
import { classLabel, listSome, warnToLog, type ReportingOptions } from './policy.ts';

/**
 * Shared ground of the ranking metrics (ROC-AUC, average precision): the cumulative true/false positive counts
 * at each distinct score, highest first (scikit-learn's `_binary_clf_curve`), and the per-class / averaged
 * wrapper whose policy for undefined classes is the same for both.
 */
export interface BinaryCurve {
  /** Positives ranked at or above each distinct score, highest score first. */
  truePositives: Float64Array;
  falsePositives: Float64Array;
  /** The distinct score of each step (the curve's thresholds: `score >= threshold` is positive). */
  thresholds: Float64Array;
  positives: number;
  negatives: number;
}

/** Tied scores form one step of the curve, so ties are scored the same way scikit-learn scores them. */
export function binaryCurve(scores: ArrayLike<number>, labels: ArrayLike<number>): BinaryCurve {
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  const tps: number[] = [];
  const fps: number[] = [];
  const thresholds: number[] = [];
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < order.length; i++) {
    if (labels[order[i]] === 1) tp++;
    else fp++;
    const last = i === order.length - 1 || scores[order[i + 1]] !== scores[order[i]];
    if (last) {
      tps.push(tp);
      fps.push(fp);
      thresholds.push(scores[order[i]]);
    }
  }
  return {
    truePositives: Float64Array.from(tps),
    falsePositives: Float64Array.from(fps),
    thresholds: Float64Array.from(thresholds),
    positives: tp,
    negatives: fp,
  };
}

/** A metric of one column; null where it is undefined for these labels. */
export type BinaryRankingMetric = (scores: ArrayLike<number>, labels: ArrayLike<number>) => number | null;

export type RankingAverage = 'macro' | 'micro' | 'weighted';

export interface RankingMetricSpec {
  /** For messages: `ROC-AUC`, `average precision`. */
  name: string;
  binary: BinaryRankingMetric;
  /** Why a column is undefined (e.g. 'only one label value'), given its positive and negative counts. */
  undefinedReason: (positives: number, negatives: number) => string;
}

/**
 * Per-class values; a class the metric is undefined for is null and named in one warning (policy: it is
 * reported as undefined and left out of the macro and weighted averages).
 */
export function perClassRanking(spec: RankingMetricSpec, scores: ScoreMatrix, targets: LabelMatrix, options: ReportingOptions = {}): (number | null)[] {
  checkBinaryProblem(scores, targets, `${spec.name} per class`);
  const values: (number | null)[] = [];
  const undefinedClasses: string[] = [];
  for (let j = 0; j < targets.cols; j++) {
    const labels = column(targets, j);
    const value = spec.binary(column(scores, j), labels);
    values.push(value);
    if (value === null) {
      const positives = sumOf(labels);
      undefinedClasses.push(`${classLabel(options, j)} (${spec.undefinedReason(positives, labels.length - positives)})`);
    }
  }
  if (undefinedClasses.length > 0) {
    (options.warn ?? warnToLog)(
      `${spec.name}: undefined for ${undefinedClasses.length} class(es), reported as null and left out of averages: ` +
        listSome(undefinedClasses),
    );
  }
  return values;
}

/** Macro and weighted average the defined classes; micro pools every cell into one binary problem. */
export function averagedRanking(
  spec: RankingMetricSpec,
  scores: ScoreMatrix,
  targets: LabelMatrix,
  average: RankingAverage,
  options: ReportingOptions = {},
): number | null {
  if (average === 'micro') {
    checkBinaryProblem(scores, targets, `${spec.name} (micro)`);
    const value = spec.binary(scores.data, targets.data);
    if (value === null) {
      const positives = sumOf(targets.data);
      (options.warn ?? warnToLog)(
        `${spec.name} (micro): undefined, ${spec.undefinedReason(positives, targets.data.length - positives)}; reported as null`,
      );
    }
    return value;
  }
  const perClass = perClassRanking(spec, scores, targets, options);
  if (average === 'macro') return meanDefined(perClass);
  let sum = 0;
  let total = 0;
  perClass.forEach((value, j) => {
    if (value === null) return;
    const support = sumOf(column(targets, j));
    sum += support * value;
    total += support;
  });
  return total > 0 ? sum / total : null;
}
