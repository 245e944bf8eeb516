import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/core/rng.ts';
import type { OutputKind } from '../../src/losses/types.ts';

/** Classes per test input, and levels for the ordinal kinds. */
export const classes = 3;
export const levels = 4;

export const extremeLogits = [-100, -20, 20, 100];

/** Logits width for `classes` classes of each kind. */
export function logitWidth(kind: OutputKind): number {
  return kind === 'ordinal-cumulative' ? classes * (levels - 1) : classes;
}

/** Valid targets of a kind for `rows` (leading dimensions): 0/1, one-hot, or grades. */
export function randomTargets(kind: OutputKind, rows: number[], rng: Rng): tf.Tensor {
  const count = rows.reduce((a, b) => a * b, 1);
  const values: number[] = [];
  for (let row = 0; row < count; row++) {
    if (kind === 'categorical') {
      const hot = rng.int(classes);
      for (let c = 0; c < classes; c++) values.push(c === hot ? 1 : 0);
    } else {
      for (let c = 0; c < classes; c++) values.push(kind === 'binary' ? (rng.bernoulli(0.4) ? 1 : 0) : rng.int(levels));
    }
  }
  return tf.tensor(values, [...rows, classes]);
}

/** Logits drawn from `pool` (e.g. the extremes) or from N(0, scale²). */
export function randomLogits(kind: OutputKind, rows: number[], rng: Rng, pool?: number[], scale = 3): tf.Tensor {
  const width = logitWidth(kind);
  const count = rows.reduce((a, b) => a * b, 1) * width;
  const values = Array.from({ length: count }, () => (pool ? pool[rng.int(pool.length)] : rng.normal() * scale));
  return tf.tensor(values, [...rows, width]);
}

/** Value and gradient w.r.t. the logits of `f`, as plain arrays. */
export function valueAndGrad(f: (logits: tf.Tensor) => tf.Scalar, logits: tf.Tensor): { value: number; grad: Float32Array } {
  const { value, grad } = tf.valueAndGrad(f)(logits);
  const result = { value: value.dataSync()[0], grad: grad.dataSync() as Float32Array };
  value.dispose();
  grad.dispose();
  return result;
}
