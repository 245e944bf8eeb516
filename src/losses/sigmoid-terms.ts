import * as tf from '@tensorflow/tfjs';

/**
 * Numerically stable pieces shared by the sigmoid losses. Everything is computed from logits so that
 * logits of +-100 give finite values and gradients: log p = -softplus(-x), log(1 - p) = -softplus(x), and
 * 1 - p is sigmoid(-x) rather than a cancelling 1 - sigmoid(x).
 */

/**
 * log sigmoid(x) = -softplus(-x). Not tf.logSigmoid: its custom gradient reads its input from a closure, which
 * an enclosing tidy has disposed by the time tf.grad runs backwards when that input is an intermediate.
 */
export function logSigmoid(logits: tf.Tensor): tf.Tensor {
  return tf.neg(tf.softplus(tf.neg(logits)));
}

/**
 * sigmoid(x) whose gradient is sigmoid(x) sigmoid(-x). tfjs differentiates sigmoid as y (1 - y), which loses
 * most digits of 1 - y once y is near 1 (x beyond ~8): the focusing weights would get gradients off by 1e-4.
 */
export const sigmoid = tf.customGrad((...inputs) => {
  const [logits, save] = inputs as [tf.Tensor, tf.GradSaveFunc];
  save([logits]);
  return {
    value: tf.sigmoid(logits),
    gradFunc: (dy: tf.Tensor, [saved]: tf.Tensor[]) => tf.mul(dy, tf.mul(tf.sigmoid(saved), tf.sigmoid(tf.neg(saved)))),
  };
}) as (logits: tf.Tensor) => tf.Tensor;

/** log(max(sigmoid(x), floor)); floor 0 means no floor. */
export function flooredLogSigmoid(logits: tf.Tensor, floor: number): tf.Tensor {
  const logP = logSigmoid(logits);
  return floor > 0 ? tf.maximum(logP, Math.log(floor)) : logP;
}

/**
 * Bases below this count as 0 in `focusingWeight`. The focusing bases (1 - p, p - clip) are this small only
 * where the log factor they multiply is about as small, so the loss moves by far less than float32 resolution,
 * while gamma * base^(gamma - 1) stays finite (a denormal base with gamma < 1 would overflow to inf).
 */
const negligibleBase = 1e-30;

/** base^gamma for base in [0, 1], with its limit and a finite gradient (not inf * 0) at base 0. */
export function focusingWeight(base: tf.Tensor, gamma: number): tf.Tensor {
  if (gamma === 0) return tf.onesLike(base);
  if (gamma === 1) return base;
  // 1 where the base counts, else 0; step has a (zero) gradient, unlike comparisons, so tfjs can differentiate through it.
  const significant = tf.step(tf.sub(base, negligibleBase));
  // Negligible bases are raised as 1 + base (>= 1: a finite power and gradient), then zeroed by the mask.
  const safeBase = tf.add(base, tf.sub(1, significant));
  return tf.mul(tf.pow(safeBase, gamma), significant);
}

/** Identity forward, zero gradient backward (tfjs has no stop-gradient op). */
export const stopGradient = tf.customGrad((...inputs) => {
  const x = inputs[0] as tf.Tensor;
  return { value: tf.clone(x), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) };
}) as (x: tf.Tensor) => tf.Tensor;

/** -[posWeight * y * log p + (1 - y) * log(1 - p)] per element; y may be soft. */
export function binaryCrossEntropyElements(logits: tf.Tensor, targets: tf.Tensor, posWeight?: tf.Tensor | number): tf.Tensor {
  const positive = tf.mul(targets, logSigmoid(logits));
  const weightedPositive = posWeight === undefined ? positive : tf.mul(positive, posWeight);
  const negative = tf.mul(tf.sub(1, targets), logSigmoid(tf.neg(logits)));
  return tf.neg(tf.add(weightedPositive, negative));
}
