import type { LabelMatrix, ScoreMatrix } from './matrix.ts';
import type { ReportingOptions } from './policy.ts';
import { averagedRanking, binaryCurve, perClassRanking, type RankingAverage, type RankingMetricSpec } from './ranking.ts';

/**
 * Area under the ROC curve of one binary column: the trapezoid rule over the curve's distinct-score steps
 * (tied scores count half, as in scikit-learn's `roc_auc_score`). Null when the labels have one value only.
 */
export function binaryRocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number | null {
  const curve = binaryCurve(scores, labels);
  if (curve.positives === 0 || curve.negatives === 0) return null;
  let area = 0;
  let previousTp = 0;
  let previousFp = 0;
  for (let i = 0; i < curve.truePositives.length; i++) {
    const tp = curve.truePositives[i];
    const fp = curve.falsePositives[i];
    area += ((fp - previousFp) * (tp + previousTp)) / 2;
    previousTp = tp;
    previousFp = fp;
  }
  return area / (curve.positives * curve.negatives);
}

export const rocAucSpec: RankingMetricSpec = {
  name: 'ROC-AUC',
  binary: binaryRocAuc,
  undefinedReason: (positives) => (positives === 0 ? 'no positive target' : 'no negative target'),
};

/** ROC-AUC of each class; null (and a warning) for a class whose targets are all 0 or all 1. */
export function rocAucPerClass(scores: ScoreMatrix, targets: LabelMatrix, options: ReportingOptions = {}): (number | null)[] {
  return perClassRanking(rocAucSpec, scores, targets, options);
}

/** Macro (over defined classes), weighted (by support) or micro (all cells pooled) ROC-AUC; null if undefined. */
export function rocAucScore(scores: ScoreMatrix, targets: LabelMatrix, average: RankingAverage = 'macro', options: ReportingOptions = {}): number | null {
  return averagedRanking(rocAucSpec, scores, targets, average, options);
}
