import * as tf from '@tensorflow/tfjs';
import type { ExplicitPad, WasmKernelScope } from './kernel-scope.ts';
import { inputGradientAxis, type ConvGeometry } from './conv-geometry.ts';

/** A forward convolution (dense or depthwise) with stride 1, as the input gradient needs. */
export type StrideOneConv = (x: tf.TensorInfo, filter: tf.TensorInfo, dilations: [number, number], pad: ExplicitPad) => tf.TensorInfo;

/** [N,Ho,Wo,C] → [N,Ho·sh,Wo·sw,C] with each value followed by stride−1 zeros along both spatial axes. */
function spreadByStride(scope: WasmKernelScope, dy: tf.TensorInfo, strideRows: number, strideCols: number): tf.TensorInfo {
  if (strideRows === 1 && strideCols === 1) return dy;
  const [batch, rows, cols, channels] = dy.shape;
  const gaps = scope.pad(scope.reshape(dy, [batch * rows, 1, cols, 1, channels]), [
    [0, 0],
    [0, strideRows - 1],
    [0, 0],
    [0, strideCols - 1],
    [0, 0],
  ]);
  return scope.reshape(gaps, [batch, rows * strideRows, cols * strideCols, channels]);
}

/**
 * dX of an NHWC convolution: the stride-spread dY correlated with the spatially flipped filter (already laid
 * out for `conv` by the caller), so it runs on the same XNNPACK path as the forward pass.
 */
export function inputGradientByConv(scope: WasmKernelScope, dy: tf.TensorInfo, flippedFilter: tf.TensorInfo, g: ConvGeometry, conv: StrideOneConv): tf.TensorInfo {
  const { rows, cols } = g;
  const rowPlan = inputGradientAxis(rows);
  const colPlan = inputGradientAxis(cols);
  const spread = spreadByStride(scope, dy, rows.stride, cols.stride);
  const full = conv(spread, flippedFilter, [rows.dilation, cols.dilation], {
    top: rowPlan.padBefore,
    bottom: rowPlan.padAfter,
    left: colPlan.padBefore,
    right: colPlan.padAfter,
  });
  const [batch, height, width, channels] = full.shape;
  if (rowPlan.cropBefore === 0 && colPlan.cropBefore === 0 && height === rows.inSize && width === cols.inSize) return full;
  return scope.slice(full, [0, rowPlan.cropBefore, colPlan.cropBefore, 0], [batch, rows.inSize, cols.inSize, channels]);
}
