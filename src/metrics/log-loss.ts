import { checkBinaryProblem, type LabelMatrix, type ScoreMatrix } from './matrix.ts';
import type { ReportingOptions } from './policy.ts';

/**
 * Multi-label log loss: binary cross-entropy of every (row, class) cell, probabilities clipped to
 * [eps, 1 - eps] as scikit-learn's `log_loss` clips them. With class weights each row's loss is the weighted
 * mean over its classes, and the score is the mean over rows — the RSNA hemorrhage metric weighs `any` 2.
 */
export interface LogLossOptions extends ReportingOptions {
  /** Clipping distance from 0 and 1 (1e-15 by default). */
  eps?: number;
  /** One weight per class (all 1 by default). */
  classWeights?: ArrayLike<number>;
}

export function checkProbabilities(probabilities: ScoreMatrix, where: string): void {
  const { data, cols } = probabilities;
  for (let i = 0; i < data.length; i++) {
    if (data[i] < 0 || data[i] > 1) {
      throw new Error(`${where}: prediction at row ${Math.floor(i / cols)}, column ${i % cols} is ${data[i]}, expected a probability in [0, 1]`);
    }
  }
}

function cellLoss(probability: number, target: number, eps: number): number {
  const p = Math.min(Math.max(probability, eps), 1 - eps);
  return target === 1 ? -Math.log(p) : -Math.log(1 - p);
}

function prepare(probabilities: ScoreMatrix, targets: LabelMatrix, options: LogLossOptions, where: string) {
  checkBinaryProblem(probabilities, targets, where);
  checkProbabilities(probabilities, where);
  if (targets.rows === 0) throw new Error(`${where}: no rows to score`);
  const eps = options.eps ?? 1e-15;
  if (!(eps > 0 && eps < 0.5)) throw new Error(`${where}: eps must be in (0, 0.5), got ${eps}`);
  const weights = options.classWeights ?? new Float64Array(targets.cols).fill(1);
  if (weights.length !== targets.cols) throw new Error(`${where}: ${weights.length} class weights for ${targets.cols} classes`);
  let weightSum = 0;
  for (let j = 0; j < weights.length; j++) {
    if (!(weights[j] >= 0)) throw new Error(`${where}: class weight ${j} is ${weights[j]}, expected >= 0`);
    weightSum += weights[j];
  }
  if (weightSum === 0) throw new Error(`${where}: class weights sum to 0`);
  return { eps, weights, weightSum };
}

/** The (weighted) multi-label log loss. */
export function logLoss(probabilities: ScoreMatrix, targets: LabelMatrix, options: LogLossOptions = {}): number {
  const { eps, weights, weightSum } = prepare(probabilities, targets, options, 'log loss');
  let total = 0;
  for (let i = 0; i < targets.data.length; i++) {
    total += weights[i % targets.cols] * cellLoss(probabilities.data[i], targets.data[i], eps);
  }
  return total / (weightSum * targets.rows);
}

/** Each class's own binary log loss (its column's mean cross-entropy). */
export function logLossPerClass(probabilities: ScoreMatrix, targets: LabelMatrix, options: LogLossOptions = {}): number[] {
  const { eps } = prepare(probabilities, targets, options, 'log loss per class');
  const sums = new Float64Array(targets.cols);
  for (let i = 0; i < targets.data.length; i++) sums[i % targets.cols] += cellLoss(probabilities.data[i], targets.data[i], eps);
  return Array.from(sums, (sum) => sum / targets.rows);
}

/**
 * Class weights from names: `{ any: 2 }` → 2 for `any`, `defaultWeight` for the rest. A name that is not a
 * class is an error, so a misspelt weight never silently does nothing.
 */
export function classWeightsByName(classNames: readonly string[], weights: Record<string, number>, defaultWeight = 1): Float64Array {
  for (const name of Object.keys(weights)) {
    if (!classNames.includes(name)) {
      throw new Error(`class weight for '${name}', which is not a class; classes: ${classNames.join(', ')}`);
    }
  }
  return Float64Array.from(classNames, (name) => weights[name] ?? defaultWeight);
}

/** The RSNA intracranial hemorrhage metric: weighted multi-label log loss, `any` weighted 2, the others 1. */
export function rsnaWeightedLogLoss(
  probabilities: ScoreMatrix,
  targets: LabelMatrix,
  classNames: readonly string[],
  options: Omit<LogLossOptions, 'classWeights'> = {},
): number {
  return logLoss(probabilities, targets, { ...options, classWeights: classWeightsByName(classNames, { any: 2 }) });
}
