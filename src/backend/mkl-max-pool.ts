import * as tf from '@tensorflow/tfjs';
import { TfOps, fusedKernelsEnabled, type OpAttr } from './tf-ops.ts';

/**
 * Max pooling's gradient through oneDNN on the native backend. TensorFlow's CPU `MaxPoolGrad` re-finds every
 * window's maximum the slow way (a third of the reference step); the oneDNN build of libtensorflow has
 * `_MklNativeMaxPool`, which with `workspace_enabled` also returns a 1-byte-per-output workspace (where each maximum
 * was), and `_MklNativeMaxPoolGrad(orig_input, orig_output, grad, workspace)`, which routes each gradient to that
 * position. Both are internal ops, reached with the attribute `_kernel: 'MklNameChangeOp'`. The gradient
 * recomputes the forward pool for its workspace (no workspace outlives the kernel); where the pick is ambiguous
 * (ties, ±0) oneDNN picks the first maximum in the window, as MaxPoolGrad does.
 *
 * Builds without these ops (checked once, on a tiny input) keep `MaxPoolGrad`, which is also the path with fused
 * kernels off.
 */
let available: boolean | null = null;

function poolAttrs(ops: TfOps, ksize: number[], strides: number[], padding: string): OpAttr[] {
  return [
    ops.T,
    ops.int('ksize', ksize),
    ops.int('strides', strides),
    ops.string('padding', padding),
    ops.string('data_format', 'NHWC'),
    ops.bool('workspace_enabled', true),
    ops.string('_kernel', 'MklNameChangeOp'),
  ];
}

function oneDnnAvailable(ops: TfOps): boolean {
  if (available === null) {
    const probe = tf.zeros([1, 2, 2, 1]);
    available = ops.has('_MklNativeMaxPool', [probe], poolAttrs(ops, [1, 2, 2, 1], [1, 2, 2, 1], 'VALID'), 2);
    probe.dispose();
  }
  return available;
}

/**
 * dy with respect to x of a max pool (NHWC, 'VALID' or 'SAME' padding) through oneDNN; null where it cannot run
 * (fused kernels off, a build without oneDNN's ops, another dtype).
 */
export function oneDnnMaxPoolGrad(backend: unknown, x: tf.TensorInfo, output: tf.TensorInfo, dy: tf.TensorInfo, window: { ksize: number[]; strides: number[]; padding: 'VALID' | 'SAME' }): tf.Tensor | null {
  if (!fusedKernelsEnabled() || x.dtype !== 'float32') return null;
  const ops = TfOps.of(backend);
  if (!oneDnnAvailable(ops)) return null;
  const attrs = poolAttrs(ops, window.ksize, window.strides, window.padding);
  const [pooled, workspace] = ops.many('_MklNativeMaxPool', [x], 2, attrs);
  try {
    return ops.one('_MklNativeMaxPoolGrad', [x, output, dy, workspace], attrs);
  } finally {
    tf.dispose([pooled, workspace]);
  }
}

/** Whether this build has oneDNN's max-pool ops (for tests and `sliceseq env`); probes once. */
export function oneDnnMaxPoolAvailable(backend: unknown): boolean {
  return oneDnnAvailable(TfOps.of(backend));
}
