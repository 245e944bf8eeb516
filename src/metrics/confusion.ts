import { binarize, checkBinaryProblem, checkSameShape, sumOf, type LabelMatrix, type Matrix, type ScoreMatrix } from './matrix.ts';

/**
 * Confusion matrices: counts[t][p] = how many samples of true class t were predicted as p (rows true,
 * columns predicted, as scikit-learn's `confusion_matrix`).
 */
export function confusionMatrix(
  trueIndices: ArrayLike<number>,
  predictedIndices: ArrayLike<number>,
  numClasses: number,
  where = 'confusion matrix',
): number[][] {
  if (trueIndices.length !== predictedIndices.length) {
    throw new Error(`${where}: ${trueIndices.length} true values but ${predictedIndices.length} predicted values`);
  }
  const counts = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  const check = (value: number, i: number, side: string) => {
    if (!Number.isInteger(value) || value < 0 || value >= numClasses) {
      throw new Error(`${where}: ${side} value at row ${i} is ${value}, expected an integer in [0, ${numClasses - 1}]`);
    }
  };
  for (let i = 0; i < trueIndices.length; i++) {
    check(trueIndices[i], i, 'true');
    check(predictedIndices[i], i, 'predicted');
    counts[trueIndices[i]][predictedIndices[i]]++;
  }
  return counts;
}

/** One 2×2 matrix per label, [[tn, fp], [fn, tp]] (scikit-learn's `multilabel_confusion_matrix`). */
export function multilabelConfusion(scores: ScoreMatrix, targets: LabelMatrix, threshold: number | ArrayLike<number> = 0.5): number[][][] {
  checkBinaryProblem(scores, targets, 'multi-label confusion');
  const predicted = binarize(scores, threshold);
  return Array.from({ length: targets.cols }, (_, j) => {
    const trueColumn = new Int32Array(targets.rows);
    const predictedColumn = new Int32Array(targets.rows);
    for (let r = 0; r < targets.rows; r++) {
      trueColumn[r] = targets.data[r * targets.cols + j];
      predictedColumn[r] = predicted.data[r * targets.cols + j];
    }
    return confusionMatrix(trueColumn, predictedColumn, 2);
  });
}

/** The column of each row's largest value (the first on ties, as numpy's argmax). */
export function argmaxRows(m: Matrix): Int32Array {
  const out = new Int32Array(m.rows);
  for (let r = 0; r < m.rows; r++) {
    let best = 0;
    for (let c = 1; c < m.cols; c++) if (m.data[r * m.cols + c] > m.data[r * m.cols + best]) best = c;
    out[r] = best;
  }
  return out;
}

/** A categorical group's confusion: true class from the one-hot targets, predicted class = argmax of the scores. */
export function categoricalConfusion(scores: ScoreMatrix, targets: LabelMatrix, where = 'categorical confusion'): number[][] {
  checkSameShape(scores, targets, where);
  for (let r = 0; r < targets.rows; r++) {
    let ones = 0;
    for (let c = 0; c < targets.cols; c++) ones += targets.data[r * targets.cols + c] === 1 ? 1 : 0;
    const sum = sumOf(targets.data.subarray(r * targets.cols, (r + 1) * targets.cols));
    if (ones !== 1 || sum !== 1) throw new Error(`${where}: target row ${r} is not one-hot`);
  }
  return confusionMatrix(argmaxRows(targets), argmaxRows(scores), targets.cols, where);
}
