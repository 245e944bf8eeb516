import type { LabelMatrix, ScoreMatrix } from './matrix.ts';
import type { ReportingOptions } from './policy.ts';
import { averagedRanking, binaryCurve, perClassRanking, type RankingAverage, type RankingMetricSpec } from './ranking.ts';

/**
 * Average precision of one binary column: the sum over distinct scores of (recall gained) × (precision there),
 * as scikit-learn's `average_precision_score` (no interpolation). Null when there is no positive target.
 */
export function binaryAveragePrecision(scores: ArrayLike<number>, labels: ArrayLike<number>): number | null {
  const curve = binaryCurve(scores, labels);
  if (curve.positives === 0) return null;
  let sum = 0;
  let previousTp = 0;
  for (let i = 0; i < curve.truePositives.length; i++) {
    const tp = curve.truePositives[i];
    const precision = tp / (tp + curve.falsePositives[i]);
    sum += (tp - previousTp) * precision;
    previousTp = tp;
  }
  return sum / curve.positives;
}

export const averagePrecisionSpec: RankingMetricSpec = {
  name: 'average precision',
  binary: binaryAveragePrecision,
  undefinedReason: () => 'no positive target',
};

/** Average precision of each class; null (and a warning) for a class with no positive target. */
export function averagePrecisionPerClass(scores: ScoreMatrix, targets: LabelMatrix, options: ReportingOptions = {}): (number | null)[] {
  return perClassRanking(averagePrecisionSpec, scores, targets, options);
}

/** Macro (over defined classes), weighted (by support) or micro (all cells pooled) average precision. */
export function averagePrecisionScore(
  scores: ScoreMatrix,
  targets: LabelMatrix,
  average: RankingAverage = 'macro',
  options: ReportingOptions = {},
): number | null {
  return averagedRanking(averagePrecisionSpec, scores, targets, average, options);
}
