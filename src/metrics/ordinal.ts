import { confusionMatrix } from './confusion.ts';
import { warnToLog, type ReportingOptions } from './policy.ts';

/**
 * Metrics of ordinal grades (0 … levels-1): exact accuracy, mean absolute error and quadratic weighted kappa
 * (scikit-learn's `cohen_kappa_score(weights='quadratic', labels=range(levels))`).
 */

/** Grades from continuous outputs: the number of thresholds the value passes (`value > t`, as labels/decode.ts grades). */
export function gradesFromValues(values: ArrayLike<number>, thresholds: readonly number[]): Int32Array {
  return Int32Array.from({ length: values.length }, (_, i) => {
    if (!Number.isFinite(values[i])) throw new Error(`ordinal grades: value at row ${i} is ${values[i]}`);
    let grade = 0;
    for (const t of thresholds) if (values[i] > t) grade++;
    return grade;
  });
}

/** Fails naming the first value that is not an integer grade in [0, levels - 1]. */
export function checkGrades(grades: ArrayLike<number>, levels: number, where: string): void {
  for (let i = 0; i < grades.length; i++) {
    if (!Number.isInteger(grades[i]) || grades[i] < 0 || grades[i] >= levels) {
      throw new Error(`${where}: grade at row ${i} is ${grades[i]}, expected an integer in [0, ${levels - 1}]`);
    }
  }
}

function checkPair(trueGrades: ArrayLike<number>, predictedGrades: ArrayLike<number>, where: string): void {
  if (trueGrades.length !== predictedGrades.length) {
    throw new Error(`${where}: ${trueGrades.length} true grades but ${predictedGrades.length} predicted grades`);
  }
  if (trueGrades.length === 0) throw new Error(`${where}: no rows to score`);
}

/** Fraction of rows whose predicted grade equals the true grade. */
export function ordinalAccuracy(trueGrades: ArrayLike<number>, predictedGrades: ArrayLike<number>): number {
  checkPair(trueGrades, predictedGrades, 'ordinal accuracy');
  let hits = 0;
  for (let i = 0; i < trueGrades.length; i++) if (trueGrades[i] === predictedGrades[i]) hits++;
  return hits / trueGrades.length;
}

/** Mean absolute difference between predicted and true grades. */
export function ordinalMae(trueGrades: ArrayLike<number>, predictedGrades: ArrayLike<number>): number {
  checkPair(trueGrades, predictedGrades, 'ordinal MAE');
  let sum = 0;
  for (let i = 0; i < trueGrades.length; i++) sum += Math.abs(trueGrades[i] - predictedGrades[i]);
  return sum / trueGrades.length;
}

/**
 * Quadratic weighted kappa: 1 − Σ w·observed / Σ w·expected with w = (i − j)², expected from the two grade
 * histograms. Undefined (null, with a warning) when the expected disagreement is 0 — both sides one grade.
 */
export function quadraticWeightedKappa(
  trueGrades: ArrayLike<number>,
  predictedGrades: ArrayLike<number>,
  levels: number,
  options: ReportingOptions = {},
): number | null {
  checkPair(trueGrades, predictedGrades, 'quadratic weighted kappa');
  return kappaFromConfusion(confusionMatrix(trueGrades, predictedGrades, levels, 'quadratic weighted kappa'), options);
}

/** Quadratic weighted kappa of a grade confusion matrix (rows true, columns predicted); null when undefined. */
export function kappaFromConfusion(observed: readonly (readonly number[])[], options: ReportingOptions = {}): number | null {
  const levels = observed.length;
  const n = observed.reduce((sum, row) => sum + row.reduce((s, v) => s + v, 0), 0);
  const trueHistogram = observed.map((row) => row.reduce((s, v) => s + v, 0));
  const predictedHistogram = observed[0].map((_, j) => observed.reduce((s, row) => s + row[j], 0));
  let observedDisagreement = 0;
  let expectedDisagreement = 0;
  for (let i = 0; i < levels; i++) {
    for (let j = 0; j < levels; j++) {
      const weight = (i - j) ** 2;
      observedDisagreement += weight * observed[i][j];
      expectedDisagreement += (weight * trueHistogram[i] * predictedHistogram[j]) / n;
    }
  }
  if (!(expectedDisagreement > 0)) {
    (options.warn ?? warnToLog)('quadratic weighted kappa: undefined when true and predicted grades are one single grade; reported as null');
    return null;
  }
  return 1 - observedDisagreement / expectedDisagreement;
}

/**
 * Dice per grade of a grade confusion matrix: 2·TP / (2·TP + FP + FN) for each grade (scikit-learn's
 * `f1_score(average=None)`), null for a grade neither true nor predicted anywhere.
 */
export function dicePerGrade(observed: readonly (readonly number[])[]): Array<number | null> {
  return observed.map((row, k) => {
    const tp = row[k];
    const fn = row.reduce((s, v) => s + v, 0) - tp;
    const fp = observed.reduce((s, other) => s + other[k], 0) - tp;
    return 2 * tp + fp + fn > 0 ? (2 * tp) / (2 * tp + fp + fn) : null;
  });
}
