import { fbetaScore } from './fbeta.ts';
import { binarize, matrix, type LabelMatrix, type ScoreMatrix } from './matrix.ts';

/** F2 averages of one answer over a split. */
export type F2Averages = Record<'samples' | 'micro' | 'macro', number>;

/**
 * F2 of the two constant answers, the floor a model must clearly beat: every binary label positive, and none.
 * Under zero division 1 "none" scores every normal row 1, so on data with many normals it can look good (a
 * submission of all zeros scored like a trained ensemble on the demo solution).
 */
export function constantBaselines(targets: LabelMatrix, zeroDivision: 0 | 1): { all_positive: F2Averages; all_negative: F2Averages } {
  const constant = (value: number): F2Averages => {
    const predictions = matrix(new Float32Array(targets.rows * targets.cols).fill(value), targets.rows, targets.cols);
    return { samples: fbetaScore(predictions, targets, 'samples', { beta: 2, zeroDivision }), micro: fbetaScore(predictions, targets, 'micro', { beta: 2, zeroDivision }), macro: fbetaScore(predictions, targets, 'macro', { beta: 2, zeroDivision }) };
  };
  return { all_positive: constant(1), all_negative: constant(0) };
}

/** How many labels the scores predict positive at the thresholds (0: the thresholds answer "none" everywhere). */
export function positivesAt(scores: ScoreMatrix, thresholds: number | ArrayLike<number>): number {
  return binarize(scores, thresholds).data.reduce((sum, value) => sum + value, 0);
}

/**
 * What a split's score block carries beside its F2: both constant answers, and how many labels the tuned
 * thresholds predict positive (0 flags thresholds that answer "none" everywhere, whatever their F2). Runs and
 * cross-validation both write it through here.
 */
export function constantAnswers(
  split: { scores: ScoreMatrix; targets: LabelMatrix },
  thresholds: number | ArrayLike<number> | undefined,
  zeroDivision: 0 | 1,
): { baselines: ReturnType<typeof constantBaselines>; f2_tuned_positives?: number } {
  return {
    baselines: constantBaselines(split.targets, zeroDivision),
    ...(thresholds !== undefined ? { f2_tuned_positives: positivesAt(split.scores, thresholds) } : {}),
  };
}
