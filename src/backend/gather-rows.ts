import * as tf from '@tensorflow/tfjs';
import { sliceseqOpReady } from './sliceseq-ops.ts';
import { TfOps, fusedActive, registerTensorflowKernel } from './tf-ops.ts';

/**
 * Slice folding's row gathers as one TF op of ours, `SliceseqGatherRows` (native/tf-ops/rows.cc): the rows of x
 * are its first `rowAxes` axes taken as one; the result has `indexShape` followed by x's other axes, row i being
 * x's row index[i], or zeros where index[i] is −1. Folding ([batch, slices, ...] → real rows) and unfolding
 * (rows → [batch, slices, ...] with zeros at padding) are one op each, and so are their gradients (the other
 * direction), where tfjs ran Reshape + GatherV2 and ConcatV2 + GatherV2 + Reshape. Copies only: the values are the
 * per-op path's bits. The gradient is the caller's (src/models/layers/slice-folding.ts pairs each gather with its
 * transpose through tf.customGrad on every backend), so this kernel registers none.
 */
export const GATHER_ROWS = 'SliceseqGatherRows';

const gatherRowsKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const ops = TfOps.of(backend);
  const { x, index } = inputs as Record<string, tf.TensorInfo>;
  return ops.one(GATHER_ROWS, [x, index], [ops.int('row_axes', (attrs as { rowAxes: number }).rowAxes)]);
};

/** Registers the kernel for 'tensorflow' (idempotent). */
export function registerGatherRowsKernel(): void {
  registerTensorflowKernel(GATHER_ROWS, gatherRowsKernel);
}

/** Whether gatherRows runs now (the native CPU package with the op loaded, fusion on). */
export function gatherRowsReady(): boolean {
  return fusedActive() && sliceseqOpReady(GATHER_ROWS);
}

/** The gather above; only where gatherRowsReady(). `index` holds −1 for a row of zeros. */
export function gatherRows(x: tf.Tensor, index: Int32Array, indexShape: number[], rowAxes: 1 | 2): tf.Tensor {
  return tf.tidy(() => tf.engine().runKernel(GATHER_ROWS, { x, index: tf.tensor(index, indexShape, 'int32') }, { rowAxes } as unknown as tf.NamedAttrMap) as tf.Tensor);
}
