import { checkProbabilities } from './log-loss.ts';
import { checkBinaryProblem, column, type LabelMatrix, type ScoreMatrix } from './matrix.ts';

/**
 * Calibration of predicted probabilities: a clinician reads a 0.8 as "80%", so among the cases scored near 0.8
 * about 80% should be positive.
 *
 * - Brier score: the mean squared difference between probability and outcome (scikit-learn's `brier_score_loss`).
 * - Reliability bins: `bins` equal-width bins over [0, 1] with scikit-learn's `calibration_curve` edges (edge k is
 *   k / bins; a score on an edge belongs to the lower bin, 0 to the first); per bin its count, mean probability and
 *   fraction of positives.
 * - Expected calibration error: the count-weighted mean over bins of |fraction positive − mean probability|.
 *
 * Per class, averaged over classes (`macro`), or over every (row, class) cell pooled (`micro`, the "all classes"
 * reliability diagram).
 */
export type CalibrationAverage = 'macro' | 'micro';

export interface ReliabilityBin {
  /** The bin's edges: (lower, upper], the first bin closed at 0. */
  lower: number;
  upper: number;
  count: number;
  /** Null for an empty bin. */
  meanPredicted: number | null;
  fractionPositive: number | null;
}

function checkInput(probabilities: ScoreMatrix, targets: LabelMatrix, where: string): void {
  checkBinaryProblem(probabilities, targets, where);
  checkProbabilities(probabilities, where);
  if (targets.rows === 0) throw new Error(`${where}: no rows to score`);
}

function checkBins(bins: number, where: string): void {
  if (!Number.isInteger(bins) || bins < 1) throw new Error(`${where}: bins must be a positive integer, got ${bins}`);
}

/** Mean squared error of one class's probabilities (or of pooled cells). */
function brierOf(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < scores.length; i++) sum += (scores[i] - labels[i]) ** 2;
  return sum / scores.length;
}

export function brierScorePerClass(probabilities: ScoreMatrix, targets: LabelMatrix): number[] {
  checkInput(probabilities, targets, 'brier');
  return Array.from({ length: targets.cols }, (_, j) => brierOf(column(probabilities, j), column(targets, j)));
}

export function brierScore(probabilities: ScoreMatrix, targets: LabelMatrix, average: CalibrationAverage): number {
  if (average === 'micro') {
    checkInput(probabilities, targets, 'brier');
    return brierOf(probabilities.data, targets.data);
  }
  const perClass = brierScorePerClass(probabilities, targets);
  return perClass.reduce((sum, v) => sum + v, 0) / perClass.length;
}

/** The reliability bins of one series of probabilities and 0/1 outcomes. */
export function reliabilityBins(scores: ArrayLike<number>, labels: ArrayLike<number>, bins = 10): ReliabilityBin[] {
  checkBins(bins, 'reliability bins');
  // Edges as numpy's linspace(0, 1, bins + 1) computes them (k * step), so a score on an edge falls where sklearn puts it.
  const step = 1 / bins;
  const edges = Array.from({ length: bins + 1 }, (_, k) => (k === bins ? 1 : k * step));
  const count = new Float64Array(bins);
  const sumPredicted = new Float64Array(bins);
  const sumPositive = new Float64Array(bins);
  for (let i = 0; i < scores.length; i++) {
    const p = scores[i];
    // The number of inner edges strictly below p (numpy's searchsorted, side 'left').
    let b = Math.min(bins - 1, Math.max(0, Math.ceil(p * bins) - 1));
    while (b > 0 && p <= edges[b]) b--;
    while (b < bins - 1 && p > edges[b + 1]) b++;
    count[b] += 1;
    sumPredicted[b] += p;
    sumPositive[b] += labels[i];
  }
  return Array.from({ length: bins }, (_, b) => ({
    lower: edges[b],
    upper: edges[b + 1],
    count: count[b],
    meanPredicted: count[b] > 0 ? sumPredicted[b] / count[b] : null,
    fractionPositive: count[b] > 0 ? sumPositive[b] / count[b] : null,
  }));
}

/** Expected calibration error of reliability bins: Σ (count / n) · |fraction positive − mean probability|. */
export function calibrationError(bins: readonly ReliabilityBin[]): number {
  const total = bins.reduce((sum, bin) => sum + bin.count, 0);
  if (total === 0) throw new Error('expected calibration error: no rows');
  return bins.reduce((sum, bin) => (bin.count > 0 ? sum + (bin.count / total) * Math.abs(bin.fractionPositive! - bin.meanPredicted!) : sum), 0);
}

export function expectedCalibrationErrorPerClass(probabilities: ScoreMatrix, targets: LabelMatrix, bins = 10): number[] {
  checkInput(probabilities, targets, 'ece');
  return Array.from({ length: targets.cols }, (_, j) => calibrationError(reliabilityBins(column(probabilities, j), column(targets, j), bins)));
}

export function expectedCalibrationError(probabilities: ScoreMatrix, targets: LabelMatrix, average: CalibrationAverage, bins = 10): number {
  if (average === 'micro') {
    checkInput(probabilities, targets, 'ece');
    return calibrationError(reliabilityBins(probabilities.data, targets.data, bins));
  }
  const perClass = expectedCalibrationErrorPerClass(probabilities, targets, bins);
  return perClass.reduce((sum, v) => sum + v, 0) / perClass.length;
}
