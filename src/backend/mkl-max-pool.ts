import * as tf from '@tensorflow/tfjs';
import { TfOps, fusedActive, fusedKernelsEnabled, registerGradientOnce, registerTensorflowKernel, type OpAttr } from './tf-ops.ts';

/**
 * Max pooling's gradient through oneDNN on the native backend. TensorFlow's CPU `MaxPoolGrad` re-finds every
 * window's maximum the slow way (a third of the reference step); the oneDNN build of libtensorflow has
 * `_MklNativeMaxPool`, which with `workspace_enabled` also returns a 1-byte-per-output workspace (where each maximum
 * was), and `_MklNativeMaxPoolGrad(orig_input, orig_output, grad, workspace)`, which routes each gradient to that
 * position. Both are internal ops, reached with the attribute `_kernel: 'MklNameChangeOp'`. Where the pick is
 * ambiguous (ties, ±0) oneDNN picks the first maximum in the window, as MaxPoolGrad does.
 *
 * Two ways in:
 * - Max-pooling layers (tfjs's MaxPooling2D, channels last, 'valid'/'same'), while a tape records: the forward runs
 *   `SliceseqMaxPool` (outputs [y, workspace]); the tape keeps the workspace as a saved tensor of that node, so it
 *   lives exactly as long as the tape (freed with the tape's other saved tensors after the backward pass) and the
 *   gradient `SliceseqMaxPoolGrad` consumes it. Without a tape the layer runs tfjs's MaxPool (no workspace).
 * - Any other `MaxPoolGrad` (a direct tf.maxPool): the gradient recomputes the forward pool for its workspace.
 *
 * Builds without these ops (checked once, on a tiny input) keep MaxPool/`MaxPoolGrad`, which is also the path with
 * fused kernels off.
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

export const MAX_POOL = 'SliceseqMaxPool';
export const MAX_POOL_GRAD = 'SliceseqMaxPoolGrad';

/** A pooling window in TensorFlow's NHWC terms. */
interface PoolWindow {
  ksize: number[];
  strides: number[];
  padding: 'VALID' | 'SAME';
}

/** Inputs {x}, attrs PoolWindow → [y, workspace] (the workspace is TF's uint8, int32 to tfjs: never read it). */
const maxPoolKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const ops = TfOps.of(backend);
  const { ksize, strides, padding } = attrs as unknown as PoolWindow;
  return ops.many('_MklNativeMaxPool', [(inputs as { x: tf.TensorInfo }).x], 2, poolAttrs(ops, ksize, strides, padding));
};

/**
 * Inputs {dy, x, workspace}, attrs PoolWindow → dx. With a workspace oneDNN reads only the shapes of orig_input and
 * orig_output (the workspace says where each maximum was), so dy, of the output's shape, stands in for the pooled
 * output and the tape need not keep a copy of it (the parity tests check the result against MaxPoolGrad's).
 */
const maxPoolGradKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const ops = TfOps.of(backend);
  const { dy, x, workspace } = inputs as Record<string, tf.TensorInfo>;
  const { ksize, strides, padding } = attrs as unknown as PoolWindow;
  return ops.one('_MklNativeMaxPoolGrad', [x, dy, dy, workspace], poolAttrs(ops, ksize, strides, padding));
};

let layerHooked = false;

/**
 * Registers the kernels above and routes tfjs's MaxPooling2D layer through them (its `poolingFunction`, which
 * otherwise calls tf.maxPool; the layer's class, config and weights are unchanged). Idempotent.
 */
export function registerMaxPoolKernels(): void {
  registerTensorflowKernel(MAX_POOL, maxPoolKernel);
  registerTensorflowKernel(MAX_POOL_GRAD, maxPoolGradKernel);
  registerGradientOnce({
    kernelName: MAX_POOL,
    inputsToSave: ['x'],
    outputsToSave: [false, true],
    gradFunc: (dy, saved, attrs) => {
      const [x, workspace] = saved;
      return { x: () => tf.engine().runKernel(MAX_POOL_GRAD, { dy: (dy as tf.Tensor[])[0], x, workspace }, attrs) as tf.Tensor };
    },
  });
  if (layerHooked) return;
  const entry = tf.serialization.SerializationMap.getMap().classNameMap.MaxPooling2D;
  if (!entry) throw new Error("registerMaxPoolKernels: tfjs-layers has no 'MaxPooling2D' class");
  type PoolingFunction = (inputs: tf.Tensor, poolSize: [number, number], strides: [number, number], padding: string, dataFormat: string) => tf.Tensor;
  const prototype = (entry[0] as unknown as { prototype: { poolingFunction: PoolingFunction } }).prototype;
  const own = prototype.poolingFunction;
  prototype.poolingFunction = function (this: unknown, inputs, poolSize, strides, padding, dataFormat) {
    return (dataFormat === 'channelsLast' && fusedMaxPool(inputs, poolSize, strides, padding)) || own.call(this, inputs, poolSize, strides, padding, dataFormat);
  };
  layerHooked = true;
}

/**
 * Max pool of x [n, h, w, c] keeping oneDNN's workspace on the tape for the gradient; null where that path does
 * not apply (no tape recording, fused kernels off or not native, another dtype or padding, a build without the ops).
 */
export function fusedMaxPool(x: tf.Tensor, poolSize: [number, number], strides: [number, number], padding: string): tf.Tensor | null {
  if (!fusedActive() || !tf.engine().isTapeOn() || x.rank !== 4 || x.dtype !== 'float32' || (padding !== 'valid' && padding !== 'same')) return null;
  if (!oneDnnAvailable(TfOps.of(tf.backend()))) return null;
  const window: PoolWindow = { ksize: [1, poolSize[0], poolSize[1], 1], strides: [1, strides[0], strides[1], 1], padding: padding === 'same' ? 'SAME' : 'VALID' };
  const [y, workspace] = tf.engine().runKernel(MAX_POOL, { x }, window as unknown as tf.NamedAttrMap) as tf.Tensor[];
  workspace.dispose(); // the tape holds its own copy until the backward pass
  return y;
}
