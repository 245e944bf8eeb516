import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { defineLoss } from './define-loss.ts';
import { binaryCrossEntropyElements } from './sigmoid-terms.ts';
import { reductionOption } from './types.ts';

/**
 * Grades [..., classes] → cumulative binary targets [..., classes * (levels - 1)], class-major: position
 * c * (levels - 1) + j holds [grade of class c > j], the event whose logit sits at the same position.
 * Grades must be in 0..levels-1: checking them here would read the targets back from the device every step, so
 * whoever builds the target rows validates them (a larger grade would count as levels-1).
 */
export function cumulativeTargets(grades: tf.Tensor, levels: number): tf.Tensor {
  const thresholds = tf.range(0, levels - 1, 1, 'float32');
  const exceeded = tf.cast(tf.greater(tf.expandDims(grades, -1), thresholds), 'float32');
  const classes = grades.shape[grades.rank - 1];
  return tf.reshape(exceeded, [...grades.shape.slice(0, -1), classes * (levels - 1)]);
}

export const cumulativeBce = defineLoss({
  name: 'cumulative-bce',
  description: 'ordinal grades as levels-1 cumulative logits per class (P(grade > j)), binary cross-entropy on each',
  accepts: ['ordinal-cumulative'],
  schema: z.object({ reduction: reductionOption('mean') }),
  targetShape: 'rows',
  // One element per threshold logit: 'mean' divides by unmasked rows × classes × (levels - 1).
  elements: (logits, grades) => {
    const logitWidth = logits.shape[logits.rank - 1];
    const classes = grades.shape[grades.rank - 1];
    if (classes === 0 || logitWidth < classes || logitWidth % classes !== 0) {
      throw new Error(`cumulative-bce: ${logitWidth} logits per row do not split into levels-1 logits for each of ${classes} classes`);
    }
    return binaryCrossEntropyElements(logits, cumulativeTargets(grades, logitWidth / classes + 1));
  },
});
