import * as tf from '@tensorflow/tfjs';
import { sliceseqOpReady } from './sliceseq-ops.ts';
import { TfOps, fusedActive, registerGradientOnce, registerTensorflowKernel } from './tf-ops.ts';

/**
 * A dense layer's x·w + b over the last axis as one kernel on the native backend, with the layout changes the
 * recurrent layers put around it: our TensorFlow op `SliceseqDense` (native/tf-ops/dense.cc) forward and
 * `SliceseqDenseGrad` (every dx, dw, db at once) backward, where tfjs ran Transpose, Reshape, MatMul, Add, Reshape
 * (and ReverseV2 + ConcatV2 joining two directions) and their gradients: 2 kernels where there were up to 18.
 *
 * x is one tensor or several side by side along the last axis (the parts of concat(x, -1), same leading axes);
 * [n, f] → [n, o]; [a, b, f] → [a, b, o], or with `swap` [b, a, o] (time-major ↔ batch-major); with `merge` the
 * last two axes of a rank-3 result are one ([b, a·o] with swap). With `reverseLast` the last part is read in
 * reverse order along its first axis (a backward direction's outputs). The numbers are the per-op path's within
 * float32 rounding (the product sums in another order than Eigen's MatMul). Where the op is not loaded (wasm, cpu,
 * the GPU package, `SLICESEQ_TF_OPS=0`) the per-op tfjs path below runs: the twin the parity test compares with.
 */
export const DENSE = 'SliceseqDense';
export const DENSE_GRAD = 'SliceseqDenseGrad';

/**
 * The op's product runs on one thread without FMA, so it saves dispatch only while the product is small: it runs
 * while rows·features·outputs is at most 2²⁰ multiply-adds, TensorFlow's MatMul above. Measured forward + backward at
 * 1 thread (2026-12-06, AMD EPYC, another process running): 0.25M multiply-adds 0.45–0.60 ms against 0.66–0.93
 * for TF's ops, 0.79M 0.48–0.53 against 0.64–0.73, 50M 14.8–15.0 against 4.6–4.8, 3,020M 916–941 against 164–169.
 */
export const DENSE_OP_MAX_PRODUCT = 2 ** 20;

export interface DenseLayout {
  /** For a rank-3 x [a, b, f]: the result is [b, a, o]. */
  swap?: boolean;
  /** For a rank-3 x: the result's last two axes merged ([b, a·o] with swap, [a, b·o] without). */
  merge?: boolean;
  /** For rank-3 parts: the last one is read in reverse order along its first axis. */
  reverseLast?: boolean;
}

interface DenseAttrs {
  parts: number;
  swap: boolean;
  merge: boolean;
  reverseLast: boolean;
}

function opAttrs(ops: TfOps, attrs: DenseAttrs) {
  return [ops.int('N', attrs.parts), ops.bool('swap', attrs.swap), ops.bool('merge', attrs.merge), ops.bool('reverse_last', attrs.reverseLast)];
}

// The kernels take their inputs as arrays (as tfjs's Concat does), so the gradient can save them all:
// SliceseqDense [x0 … x{N−1}, w, b], SliceseqDenseGrad [dy, x0 … x{N−1}, w].
const denseKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const ops = TfOps.of(backend);
  return ops.one(DENSE, Array.from(inputs as unknown as tf.TensorInfo[]), opAttrs(ops, attrs as unknown as DenseAttrs));
};

const denseGradKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const ops = TfOps.of(backend);
  const a = attrs as unknown as DenseAttrs;
  return ops.many(DENSE_GRAD, Array.from(inputs as unknown as tf.TensorInfo[]), a.parts + 2, opAttrs(ops, a));
};

/** Registers the kernels and the gradient for 'tensorflow' (idempotent). */
export function registerDenseKernels(): void {
  registerTensorflowKernel(DENSE, denseKernel);
  registerTensorflowKernel(DENSE_GRAD, denseGradKernel);
  registerGradientOnce({
    kernelName: DENSE,
    saveAllInputs: true,
    gradFunc: (dy, saved, attrs) => {
      const { parts } = attrs as unknown as DenseAttrs;
      const inputs = [dy as tf.Tensor, ...saved.slice(0, parts), saved[parts]];
      const grads = tf.engine().runKernel(DENSE_GRAD, inputs as unknown as tf.NamedTensorMap, attrs) as tf.Tensor[];
      // dx per part, dw, db: in the forward inputs' order.
      return grads.map((g) => () => g) as unknown as Record<string, () => tf.Tensor>;
    },
  });
}

/** The per-op path (every backend): what the layers ran before the op. */
function denseOps(parts: tf.Tensor[], w: tf.Tensor2D, b: tf.Tensor1D, layout: DenseAttrs): tf.Tensor {
  return tf.tidy(() => {
    const read = layout.reverseLast ? [...parts.slice(0, -1), tf.reverse(parts[parts.length - 1], 0)] : parts;
    const x = read.length === 1 ? read[0] : tf.concat(read, read[0].rank - 1);
    if (x.rank === 2) return tf.add(tf.matMul(x as tf.Tensor2D, w), b);
    const [a, rows, features] = x.shape;
    const [first, second] = layout.swap ? [rows, a] : [a, rows];
    const ordered = layout.swap ? tf.transpose(x, [1, 0, 2]) : x;
    const y = tf.add(tf.matMul(ordered.reshape([first * second, features]) as tf.Tensor2D, w), b);
    return y.reshape(layout.merge ? [first, second * w.shape[1]] : [first, second, w.shape[1]]);
  });
}

/** x·w + b over x's last axis (x: one tensor or parts side by side), laid out as `layout` says: one kernel on the native CPU package while the product is small (DENSE_OP_MAX_PRODUCT). */
export function dense(x: tf.Tensor | tf.Tensor[], w: tf.Tensor2D, b: tf.Tensor1D, layout: DenseLayout = {}): tf.Tensor {
  const parts = Array.isArray(x) ? x : [x];
  const attrs: DenseAttrs = { parts: parts.length, swap: layout.swap ?? false, merge: layout.merge ?? false, reverseLast: layout.reverseLast ?? false };
  const shape = `[${parts.map((p) => p.shape.join(', ')).join('], [')}]`;
  if (parts.length === 0 || parts.some((p) => p.rank !== parts[0].rank)) throw new Error(`dense: x must be one or more parts of one rank, got ${shape}`);
  if ((attrs.swap || attrs.merge || attrs.reverseLast) && parts[0].rank !== 3) throw new Error(`dense: swap, merge and reverseLast need a rank-3 x, got ${shape}`);
  if (parts[0].rank !== 2 && parts[0].rank !== 3) throw new Error(`dense: x must be rank 2 or 3, got ${shape}`);
  const product = (parts[0].size / parts[0].shape[parts[0].rank - 1]) * w.shape[0] * w.shape[1];
  if (fusedActive() && sliceseqOpReady(DENSE) && product <= DENSE_OP_MAX_PRODUCT) {
    return tf.engine().runKernel(DENSE, [...parts, w, b] as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
  }
  return denseOps(parts, w, b, attrs);
}
