import * as tf from '@tensorflow/tfjs';
import { sliceseqOpReady } from './sliceseq-ops.ts';
import type { OpAttr, TfOps } from './tf-ops.ts';

/**
 * What the flat optimizer kernels (flat-adam.ts, flat-momentum.ts) share: gathering every variable's gradient or
 * value into one flat vector with `DynamicStitch` (variable k's int32 `i<k>` tensor, of its shape, holds its
 * positions), and `SplitV` + `Reshape` back to one tensor per variable. Inputs per variable k: `g<k>`, `x<k>`, `i<k>`
 * and `s<k>` (int32 vector: its shape), and `sizes` (int32: every variable's element count); the optimizer keeps
 * these constants between steps (src/train/flat-slots.ts), so a step uploads none.
 */
export interface FlatInputs {
  t: Record<string, tf.TensorInfo>;
  indices: tf.TensorInfo[];
}

export function flatInputs(inputs: tf.NamedTensorInfoMap, count: number): FlatInputs {
  const t = inputs as Record<string, tf.TensorInfo>;
  return { t, indices: Array.from({ length: count }, (_, k) => t[`i${k}`]) };
}

/** The `g` or `x` inputs of every variable as one flat vector. */
export function stitch(ops: TfOps, { t, indices }: FlatInputs, prefix: 'g' | 'x'): tf.Tensor {
  return ops.one('DynamicStitch', [...indices, ...indices.map((_, k) => t[`${prefix}${k}`])], [ops.int('N', indices.length), ops.T]);
}

/** A flat vector back to one tensor per variable, of its shape; `keep` collects the temporaries to dispose. */
export function unstitch(ops: TfOps, { t, indices }: FlatInputs, flat: tf.Tensor, keep: (x: tf.Tensor) => void): tf.Tensor[] {
  const count = indices.length;
  const axis = tf.scalar(0, 'int32');
  keep(axis);
  const pieces = ops.many('SplitV', [flat, t.sizes, axis], count, [ops.int('num_split', count), ops.T, ops.type('Tlen', 'int32')]);
  pieces.forEach(keep);
  return pieces.map((piece, k) => ops.one('Reshape', [piece, t[`s${k}`]], [ops.T, ops.type('Tshape', 'int32')]));
}

/**
 * The whole step as one op of ours (native/tf-ops/flat_optimizers.cc) where sliceseq's TensorFlow ops are loaded,
 * else null (the caller runs TF's ops): inputs `slots`, `hyper` (the optimizer's constants, uploaded as one float32
 * vector), then every variable's gradient and value; `count` outputs before the new values.
 */
export function ownOpStep(ops: TfOps, op: string, { t, indices }: FlatInputs, slots: tf.TensorInfo[], hyper: number[], count: number, attrs: OpAttr[] = []): tf.Tensor[] | null {
  if (!sliceseqOpReady(op)) return null;
  const constants = tf.tensor1d(hyper);
  try {
    const variables = (prefix: 'g' | 'x') => indices.map((_, k) => t[`${prefix}${k}`]);
    return ops.many(op, [...slots, constants, ...variables('g'), ...variables('x')], count + indices.length, [ops.int('N', indices.length), ...attrs]);
  } finally {
    constants.dispose();
  }
}
