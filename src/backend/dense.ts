import * as tf from '@tensorflow/tfjs';
import { sliceseqOpReady } from './sliceseq-ops.ts';
import { TfOps, fusedActive, registerGradientOnce, registerTensorflowKernel } from './tf-ops.ts';

/**
 * A dense layer's x·w + b over the last axis as one kernel on the native backend, with the layout change the
 * recurrent layers put around it: our TensorFlow op `SliceseqDense` (native/tf-ops/dense.cc) forward and
 * `SliceseqDenseGrad` (dx, dw, db at once) backward, where tfjs ran Transpose, Reshape, MatMul, Add, Reshape and
 * their gradients (Reshape, Sum, two MatMuls, Reshape, Transpose): 2 kernels where there were up to 14.
 *
 * x [n, f] → [n, o]; x [a, b, f] → [a, b, o], or with `swap` [b, a, o] (time-major ↔ batch-major); with `merge`
 * the last two axes of a rank-3 result are one ([b, a·o] with swap). The numbers are the per-op path's within
 * float32 rounding (the product sums in another order than Eigen's MatMul). Where the op is not loaded (wasm, cpu,
 * the GPU package, `SLICESEQ_TF_OPS=0`) the per-op tfjs path below runs: the twin the parity test compares with.
 */
export const DENSE = 'SliceseqDense';
export const DENSE_GRAD = 'SliceseqDenseGrad';

export interface DenseLayout {
  /** For a rank-3 x [a, b, f]: the result is [b, a, o]. */
  swap?: boolean;
  /** For a rank-3 x: the result's last two axes merged ([b, a·o] with swap, [a, b·o] without). */
  merge?: boolean;
}

interface DenseAttrs {
  swap: boolean;
  merge: boolean;
}

function opAttrs(ops: TfOps, attrs: DenseAttrs) {
  return [ops.bool('swap', attrs.swap), ops.bool('merge', attrs.merge)];
}

const denseKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const ops = TfOps.of(backend);
  const { x, w, b } = inputs as Record<string, tf.TensorInfo>;
  return ops.one(DENSE, [x, w, b], opAttrs(ops, attrs as unknown as DenseAttrs));
};

const denseGradKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const ops = TfOps.of(backend);
  const { dy, x, w } = inputs as Record<string, tf.TensorInfo>;
  return ops.many(DENSE_GRAD, [dy, x, w], 3, opAttrs(ops, attrs as unknown as DenseAttrs));
};

/** Registers the kernels and the gradient for 'tensorflow' (idempotent). */
export function registerDenseKernels(): void {
  registerTensorflowKernel(DENSE, denseKernel);
  registerTensorflowKernel(DENSE_GRAD, denseGradKernel);
  registerGradientOnce({
    kernelName: DENSE,
    inputsToSave: ['x', 'w'],
    gradFunc: (dy, saved, attrs) => {
      const [x, w] = saved;
      const [dx, dw, db] = tf.engine().runKernel(DENSE_GRAD, { dy: dy as tf.Tensor, x, w }, attrs) as tf.Tensor[];
      return { x: () => dx, w: () => dw, b: () => db };
    },
  });
}

/** The per-op path (every backend): what the layers ran before the op. */
function denseOps(x: tf.Tensor, w: tf.Tensor2D, b: tf.Tensor1D, layout: DenseAttrs): tf.Tensor {
  return tf.tidy(() => {
    if (x.rank === 2) return tf.add(tf.matMul(x as tf.Tensor2D, w), b);
    const [a, rows, features] = x.shape;
    const [first, second] = layout.swap ? [rows, a] : [a, rows];
    const ordered = layout.swap ? tf.transpose(x, [1, 0, 2]) : x;
    const y = tf.add(tf.matMul(ordered.reshape([first * second, features]) as tf.Tensor2D, w), b);
    return y.reshape(layout.merge ? [first, second * w.shape[1]] : [first, second, w.shape[1]]);
  });
}

/** x·w + b over x's last axis, laid out as `layout` says (above): one kernel on the native CPU package. */
export function dense(x: tf.Tensor, w: tf.Tensor2D, b: tf.Tensor1D, layout: DenseLayout = {}): tf.Tensor {
  const attrs: DenseAttrs = { swap: layout.swap ?? false, merge: layout.merge ?? false };
  if ((attrs.swap || attrs.merge) && x.rank !== 3) throw new Error(`dense: swap and merge need a rank-3 x, got shape [${x.shape.join(', ')}]`);
  if (x.rank !== 2 && x.rank !== 3) throw new Error(`dense: x must be rank 2 or 3, got shape [${x.shape.join(', ')}]`);
  if (fusedActive() && sliceseqOpReady(DENSE)) {
    return tf.engine().runKernel(DENSE, { x, w, b }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
  }
  return denseOps(x, w, b, attrs);
}
