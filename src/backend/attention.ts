import * as tf from '@tensorflow/tfjs';
import { TfOps, registerGradientOnce, registerTensorflowKernel } from './tf-ops.ts';

/**
 * Multi-head attention (projections included) as one kernel on the native backend, forward and backward written
 * out over TensorFlow ops. With x·W + b the projections, heads split as [batch, heads, n, size] and s = 1/√size:
 *   Q, K, V = proj(queries), proj(keys), proj(keys);  L = Q·Kᵀ·s (+ (real − 1)·1e9 with a key mask);
 *   P = Softmax(L) (· real),  joined = P·V (heads joined back),  y = joined·Wo + bo,  maps = Mean over heads of P.
 * Backward (`MatMul`/`BatchMatMulV2` and the softmax's Jacobian): dP = dmixed·Vᵀ (+ dmaps / heads),
 * dV = Pᵀ·dmixed, dL = P·(dP − Σ dP·P)·s, dQ = dL·K, dK = dLᵀ·Q, then each projection's dW = xᵀ·dproj, db = Σ dproj,
 * dx = dproj·Wᵀ. A padded key has P = 0 exactly (its logit is ~−1e9, and a row with no real key is zeroed), so the
 * masked P stands in for the softmax's and the backward needs no mask.
 *
 * Inputs {queries [b, nq, w], keys [b, nk, w], queryKernel, queryBias, keyKernel, keyBias, valueKernel, valueBias,
 * outputKernel, outputBias, keyReal? [b, nk]}, attrs {heads}; outputs [y, maps, Q, K, V, P, joined]. The wasm and
 * cpu twin is multiHeadAttention's per-op path in src/models/layers/attention-ops.ts.
 */
export const ATTENTION = 'SliceseqAttention';
export const ATTENTION_GRAD = 'SliceseqAttentionGrad';

const HEADS_FIRST = [0, 2, 1, 3];

/** The few op shapes the attention needs, over TfOps. */
class Ops {
  constructor(readonly ops: TfOps) {}

  reshape(x: tf.Tensor, shape: number[]): tf.Tensor {
    return this.ops.one('Reshape', [x, tf.tensor1d(shape, 'int32')], [this.ops.T, this.ops.type('Tshape', 'int32')]);
  }

  transpose(x: tf.Tensor, perm: number[]): tf.Tensor {
    return this.ops.one('Transpose', [x, tf.tensor1d(perm, 'int32')], [this.ops.T, this.ops.type('Tperm', 'int32')]);
  }

  matMul(a: tf.Tensor, b: tf.Tensor, transposeA = false, transposeB = false): tf.Tensor {
    const { ops } = this;
    return a.rank === 2
      ? ops.one('MatMul', [a, b], [ops.T, ops.bool('transpose_a', transposeA), ops.bool('transpose_b', transposeB)])
      : ops.one('BatchMatMulV2', [a, b], [ops.T, ops.bool('adj_x', transposeA), ops.bool('adj_y', transposeB)]);
  }

  reduce(op: 'Mean' | 'Sum', x: tf.Tensor, axes: number[], keepDims: boolean): tf.Tensor {
    const { ops } = this;
    return ops.one(op, [x, tf.tensor1d(axes, 'int32')], [ops.bool('keep_dims', keepDims), ops.T, ops.type('Tidx', 'int32')]);
  }

  binary(op: 'AddV2' | 'Sub' | 'Mul', a: tf.Tensor, b: tf.Tensor | number): tf.Tensor {
    return this.ops.one(op, [a, typeof b === 'number' ? tf.scalar(b) : b]);
  }
}

interface Dims {
  batch: number;
  nq: number;
  nk: number;
  width: number;
  heads: number;
  size: number;
}

function dims(queries: tf.TensorInfo, keys: tf.TensorInfo, heads: number): Dims {
  const [batch, nq, width] = queries.shape;
  return { batch, nq, nk: keys.shape[1], width, heads, size: width / heads };
}

/** x [b, n, w] · W + b → [b, heads, n, size] */
function project(o: Ops, x: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor, n: number, d: Dims): tf.Tensor {
  const rows = o.binary('AddV2', o.matMul(o.reshape(x, [d.batch * n, d.width]), kernel), bias);
  return o.transpose(o.reshape(rows, [d.batch, n, d.heads, d.size]), HEADS_FIRST);
}

const attentionKernel: tf.KernelFunc = ({ inputs, backend, attrs }) =>
  tf.tidy(() => {
    const o = new Ops(TfOps.of(backend));
    const t = inputs as Record<string, tf.Tensor>;
    const d = dims(t.queries, t.keys, (attrs as unknown as { heads: number }).heads);
    const q = project(o, t.queries, t.queryKernel, t.queryBias, d.nq, d);
    const k = project(o, t.keys, t.keyKernel, t.keyBias, d.nk, d);
    const v = project(o, t.keys, t.valueKernel, t.valueBias, d.nk, d);
    let logits = o.binary('Mul', o.matMul(q, k, false, true), 1 / Math.sqrt(d.size));
    let real: tf.Tensor | null = null;
    if (t.keyReal) {
      real = o.reshape(t.keyReal, [d.batch, 1, 1, d.nk]);
      logits = o.binary('AddV2', logits, o.binary('Mul', o.binary('Sub', real, 1), 1e9));
    }
    let weights = o.ops.one('Softmax', [logits]);
    if (real) weights = o.binary('Mul', weights, real);
    const joined = o.reshape(o.transpose(o.matMul(weights, v), HEADS_FIRST), [d.batch * d.nq, d.width]);
    const output = o.reshape(o.binary('AddV2', o.matMul(joined, t.outputKernel), t.outputBias), [d.batch, d.nq, d.width]);
    return [output, o.reduce('Mean', weights, [1], false), q, k, v, weights, joined];
  });

/** One projection's backward: dproj [b, heads, n, size] → [dx [b, n, w], dW, db]. */
function projectBack(o: Ops, dProj: tf.Tensor, x: tf.Tensor, kernel: tf.Tensor, n: number, d: Dims): [tf.Tensor, tf.Tensor, tf.Tensor] {
  const rows = o.reshape(o.transpose(dProj, HEADS_FIRST), [d.batch * n, d.width]);
  return [
    o.reshape(o.matMul(rows, kernel, false, true), [d.batch, n, d.width]),
    o.matMul(o.reshape(x, [d.batch * n, d.width]), rows, true, false),
    o.reduce('Sum', rows, [0], false),
  ];
}

/**
 * Inputs {dy, dmaps? (absent when the maps are unused), queries, keys, queryKernel, keyKernel, valueKernel,
 * outputKernel, q, k, v, weights, joined}, attrs {heads} → [dqueries, dkeys, dWq, dbq, dWk, dbk, dWv, dbv, dWo, dbo].
 */
const attentionGradKernel: tf.KernelFunc = ({ inputs, backend, attrs }) =>
  tf.tidy(() => {
    const o = new Ops(TfOps.of(backend));
    const t = inputs as Record<string, tf.Tensor>;
    const d = dims(t.queries, t.keys, (attrs as unknown as { heads: number }).heads);
    const dOut = o.reshape(t.dy, [d.batch * d.nq, d.width]);
    const dWo = o.matMul(t.joined, dOut, true, false);
    const dbo = o.reduce('Sum', dOut, [0], false);
    const dMixed = o.transpose(o.reshape(o.matMul(dOut, t.outputKernel, false, true), [d.batch, d.nq, d.heads, d.size]), HEADS_FIRST);
    let dWeights = o.matMul(dMixed, t.v, false, true);
    if (t.dmaps) dWeights = o.binary('AddV2', dWeights, o.binary('Mul', o.reshape(t.dmaps, [d.batch, 1, d.nq, d.nk]), 1 / d.heads));
    const dV = o.matMul(t.weights, dMixed, true, false);
    const centered = o.binary('Sub', dWeights, o.reduce('Sum', o.binary('Mul', dWeights, t.weights), [3], true));
    const dLogits = o.binary('Mul', o.binary('Mul', t.weights, centered), 1 / Math.sqrt(d.size));
    const [dQueries, dWq, dbq] = projectBack(o, o.matMul(dLogits, t.k), t.queries, t.queryKernel, d.nq, d);
    const [dKeysK, dWk, dbk] = projectBack(o, o.matMul(dLogits, t.q, true, false), t.keys, t.keyKernel, d.nk, d);
    const [dKeysV, dWv, dbv] = projectBack(o, dV, t.keys, t.valueKernel, d.nk, d);
    return [dQueries, o.binary('AddV2', dKeysK, dKeysV), dWq, dbq, dWk, dbk, dWv, dbv, dWo, dbo];
  });

export function registerAttentionKernels(): void {
  registerTensorflowKernel(ATTENTION, attentionKernel);
  registerTensorflowKernel(ATTENTION_GRAD, attentionGradKernel);
  registerGradientOnce({
    kernelName: ATTENTION,
    inputsToSave: ['queries', 'keys', 'queryKernel', 'keyKernel', 'valueKernel', 'outputKernel'],
    outputsToSave: [false, false, true, true, true, true, true],
    gradFunc: (dys, saved, attrs) => {
      const [queries, keys, queryKernel, keyKernel, valueKernel, outputKernel, q, k, v, weights, joined] = saved;
      const [dy, dmaps] = dys as Array<tf.Tensor | null>;
      const inputs: tf.NamedTensorMap = { dy: dy ?? tf.zerosLike(queries), queries, keys, queryKernel, keyKernel, valueKernel, outputKernel, q, k, v, weights, joined };
      if (dmaps) inputs.dmaps = dmaps;
      const grads = tf.engine().runKernel(ATTENTION_GRAD, inputs, attrs) as tf.Tensor[];
      const names = ['queries', 'keys', 'queryKernel', 'queryBias', 'keyKernel', 'keyBias', 'valueKernel', 'valueBias', 'outputKernel', 'outputBias'];
      const result: Record<string, () => tf.Tensor> = Object.fromEntries(names.map((name, i) => [name, () => grads[i]]));
      result.keyReal = () => tf.zeros(keys.shape.slice(0, 2)); // a mask takes no gradient
      return result;
    },
  });
}

export interface AttentionWeights {
  queryKernel: tf.Tensor;
  queryBias: tf.Tensor;
  keyKernel: tf.Tensor;
  keyBias: tf.Tensor;
  valueKernel: tf.Tensor;
  valueBias: tf.Tensor;
  outputKernel: tf.Tensor;
  outputBias: tf.Tensor;
}

/** Multi-head attention as one kernel: {output [b, nq, w], weights [b, nq, nk] (averaged over heads)}. Native only. */
export function fusedAttention(queries: tf.Tensor, keys: tf.Tensor, heads: number, w: AttentionWeights, keyReal: tf.Tensor | null): { output: tf.Tensor; weights: tf.Tensor } {
  const inputs: tf.NamedTensorMap = { queries, keys, ...w };
  if (keyReal) inputs.keyReal = keyReal;
  const [output, weights, ...saved] = tf.engine().runKernel(ATTENTION, inputs, { heads }) as tf.Tensor[];
  tf.dispose(saved);
  return { output, weights };
}
