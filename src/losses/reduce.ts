import * as tf from '@tensorflow/tfjs';
import type { Reduction } from './types.ts';

/** Reshapes `weights` (a leading-prefix shape of `shape`) so that it broadcasts over the trailing axes. */
function alignWeights(weights: tf.Tensor, shape: number[], where: string): tf.Tensor {
  const leading = shape.slice(0, weights.rank);
  const fits = weights.rank >= 1 && weights.rank <= shape.length && leading.every((size, axis) => size === weights.shape[axis]);
  if (!fits) {
    throw new Error(
      `${where}: weights of shape [${weights.shape}] must match the leading dimensions of the loss elements ` +
        `[${shape}] (per element, per row such as a [batch, slices] mask, or per sample)`,
    );
  }
  const asFloat = weights.dtype === 'float32' ? weights : tf.cast(weights, 'float32');
  const aligned = asFloat.reshape([...weights.shape, ...new Array<number>(shape.length - weights.rank).fill(1)]);
  return tf.broadcastTo(aligned, shape);
}

/** Sums or averages per-element losses under optional weights; see `Reduction` for what 'mean' divides by. */
export function reduceLoss(elements: tf.Tensor, reduction: Reduction, weights: tf.Tensor | undefined, where: string): tf.Scalar {
  return tf.tidy((): tf.Scalar => {
    if (!weights) {
      const total: tf.Scalar = tf.sum(elements);
      return reduction === 'sum' ? total : tf.div(total, Math.max(elements.size, 1));
    }
    const weight = alignWeights(weights, elements.shape, where);
    const total: tf.Scalar = tf.sum(tf.mul(elements, weight));
    if (reduction === 'sum') return total;
    const count = tf.sum(weight);
    // Everything masked: the weighted sum is 0, and dividing by 1 keeps value and gradients at 0 (not 0/0).
    return tf.div(total, tf.where(tf.greater(count, 0), count, tf.onesLike(count)));
  });
}
