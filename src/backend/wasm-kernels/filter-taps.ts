import * as tf from '@tensorflow/tfjs';
import type { WasmKernelScope } from './kernel-scope.ts';
import { coverPadding, type ConvGeometry } from './conv-geometry.ts';

/** The NHWC input zero-padded so that every filter tap's patch lies inside it. */
function padForTaps(scope: WasmKernelScope, x: tf.TensorInfo, g: ConvGeometry): tf.TensorInfo {
  const pad = coverPadding(g);
  if (pad.top + pad.bottom + pad.left + pad.right === 0) return x;
  return scope.pad(x, [
    [0, 0],
    [pad.top, pad.bottom],
    [pad.left, pad.right],
    [0, 0],
  ]);
}

/** [N,Ho,Wo,Cin]: the input values filter tap (i, j) meets at each output position, from `padForTaps`' result. */
function tapPatch(scope: WasmKernelScope, padded: tf.TensorInfo, g: ConvGeometry, i: number, j: number): tf.TensorInfo {
  const { info, rows, cols } = g;
  const top = i * rows.dilation;
  const left = j * cols.dilation;
  return scope.stridedSlice(
    padded,
    [0, top, left, 0],
    [info.batchSize, top + (rows.outSize - 1) * rows.stride + 1, left + (cols.outSize - 1) * cols.stride + 1, info.inChannels],
    [1, rows.stride, cols.stride, 1],
  );
}

/**
 * The filter gradient assembled tap by tap: `contract` turns each tap's patch into that tap's [Cin, …] slice of
 * dW (freeing what it made besides); each patch is freed before the next is cut, so one lives at a time.
 */
export function filterGradientByTaps(scope: WasmKernelScope, x: tf.TensorInfo, g: ConvGeometry, contract: (patch: tf.TensorInfo) => tf.TensorInfo): tf.TensorInfo {
  const padded = padForTaps(scope, x, g);
  const perTap: tf.TensorInfo[] = [];
  for (let i = 0; i < g.rows.filterSize; i++) {
    for (let j = 0; j < g.cols.filterSize; j++) {
      const patch = tapPatch(scope, padded, g, i, j);
      perTap.push(contract(patch));
      scope.free(patch);
    }
  }
  return scope.reshape(scope.pack(perTap, 0), g.info.filterShape);
}
