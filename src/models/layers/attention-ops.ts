import * as tf from '@tensorflow/tfjs';
import { fusedAttention } from '../../backend/attention.ts';
import { fusedLayerNorm } from '../../backend/layer-norm.ts';
import { fusedActive } from '../../backend/tf-ops.ts';

/**
 * Multi-head scaled dot-product attention and layer normalisation as plain tf ops over weights a layer owns
 * (tfjs has no attention layer). Every function is pure: it reads the variables it is given and creates no state.
 */

/** x [..., in] · kernel [in, out] + bias [out] → [..., out], for any number of leading axes. */
export function linear(x: tf.Tensor, kernel: tf.LayerVariable, bias: tf.LayerVariable | null): tf.Tensor {
  const k = kernel.read() as tf.Tensor2D;
  const lead = x.shape.slice(0, -1);
  const rows = tf.matMul(x.reshape([-1, x.shape[x.shape.length - 1]]) as tf.Tensor2D, k);
  const out = bias ? tf.add(rows, bias.read()) : rows;
  return out.reshape([...lead, k.shape[1]]);
}

export interface NormVariables {
  gamma: tf.LayerVariable;
  beta: tf.LayerVariable;
}

/** Layer normalisation over the last axis (epsilon 1e-5), then the learned scale and shift (one kernel on native). */
export function layerNorm(x: tf.Tensor, norm: NormVariables): tf.Tensor {
  if (fusedActive()) return fusedLayerNorm(x, norm.gamma.read(), norm.beta.read(), 1e-5);
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), norm.gamma.read()), norm.beta.read());
}

export interface AttentionVariables {
  queryKernel: tf.LayerVariable;
  queryBias: tf.LayerVariable;
  keyKernel: tf.LayerVariable;
  keyBias: tf.LayerVariable;
  valueKernel: tf.LayerVariable;
  valueBias: tf.LayerVariable;
  outputKernel: tf.LayerVariable;
  outputBias: tf.LayerVariable;
}

export interface AttentionResult {
  /** [batch, queries, width] */
  output: tf.Tensor;
  /** The attention weights averaged over heads, [batch, queries, keys]; each row sums to 1 over real keys (0 with none). */
  weights: tf.Tensor;
}

/** [batch, n, heads·size] → [batch·heads, n, size] */
function splitHeads(x: tf.Tensor, heads: number): tf.Tensor3D {
  const [batch, n, width] = x.shape as number[];
  return tf.transpose(x.reshape([batch, n, heads, width / heads]), [0, 2, 1, 3]).reshape([batch * heads, n, width / heads]) as tf.Tensor3D;
}

/**
 * Multi-head attention of `queries` [batch, nq, width] over `keys` [batch, nk, width] (keys and values from the
 * same rows). `keyReal` [batch, nk] (1 real, 0 padding) keeps padded keys out: their logits are pushed to -1e9
 * before the softmax and their weights are then zeroed, so a row with no real key attends to nothing (output =
 * the output bias) instead of averaging padding. On the native backend it is one kernel (src/backend/attention.ts).
 */
export function multiHeadAttention(queries: tf.Tensor, keys: tf.Tensor, heads: number, w: AttentionVariables, keyReal: tf.Tensor | null): AttentionResult {
  if (fusedActive()) {
    const read = (v: tf.LayerVariable) => v.read();
    return fusedAttention(queries, keys, heads, {
      queryKernel: read(w.queryKernel),
      queryBias: read(w.queryBias),
      keyKernel: read(w.keyKernel),
      keyBias: read(w.keyBias),
      valueKernel: read(w.valueKernel),
      valueBias: read(w.valueBias),
      outputKernel: read(w.outputKernel),
      outputBias: read(w.outputBias),
    }, keyReal);
  }
  const [batch, nq, width] = queries.shape as number[];
  const nk = keys.shape[1] as number;
  const q = splitHeads(linear(queries, w.queryKernel, w.queryBias), heads);
  const k = splitHeads(linear(keys, w.keyKernel, w.keyBias), heads);
  const v = splitHeads(linear(keys, w.valueKernel, w.valueBias), heads);
  let logits = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(width / heads)).reshape([batch, heads, nq, nk]);
  let real: tf.Tensor | null = null;
  if (keyReal) {
    real = keyReal.reshape([batch, 1, 1, nk]);
    logits = tf.add(logits, tf.mul(tf.sub(real, 1), 1e9));
  }
  let weights = tf.softmax(logits, -1);
  if (real) weights = tf.mul(weights, real);
  const mixed = tf.matMul(weights.reshape([batch * heads, nq, nk]) as tf.Tensor3D, v);
  const joined = tf.transpose(mixed.reshape([batch, heads, nq, width / heads]), [0, 2, 1, 3]).reshape([batch, nq, width]);
  return { output: linear(joined, w.outputKernel, w.outputBias), weights: tf.mean(weights, 1) };
}
