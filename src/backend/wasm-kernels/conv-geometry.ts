import * as tf from '@tensorflow/tfjs';

/** The pad attribute every tfjs convolution kernel accepts. */
export type ConvPad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;

/**
 * One spatial axis of a forward convolution: output position `o` and filter tap `k` read input position
 * `o * stride + k * dilation - padBefore`.
 */
export interface AxisGeometry {
  inSize: number;
  outSize: number;
  filterSize: number;
  stride: number;
  dilation: number;
  padBefore: number;
}

export interface ConvGeometry {
  info: tf.backend_util.Conv2DInfo;
  rows: AxisGeometry;
  cols: AxisGeometry;
}

/**
 * Resolves a backprop kernel's attributes to the forward convolution they differentiate (the same
 * `computeConv2DInfo` the forward kernels use, so `same`, explicit pads and dimRoundingMode agree) and checks
 * that dy has the forward output's shape.
 */
export function convGeometry(
  kernelName: string,
  inShape: number[],
  filterShape: number[],
  dyShape: number[],
  attrs: { strides: number | [number, number]; dilations?: number | [number, number]; pad: ConvPad; dimRoundingMode?: 'floor' | 'round' | 'ceil' | null },
  depthwise: boolean,
  dataFormat: 'channelsLast' | 'channelsFirst' = 'channelsLast',
): ConvGeometry {
  if (inShape.length !== 4 || filterShape.length !== 4 || dyShape.length !== 4) {
    throw new Error(`${kernelName}: expected rank-4 input, filter and dy, got shapes [${inShape}], [${filterShape}], [${dyShape}]`);
  }
  const info = tf.backend_util.computeConv2DInfo(
    inShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode ?? undefined,
    depthwise,
    dataFormat,
  );
  if (info.outShape.some((size, axis) => size !== dyShape[axis])) {
    throw new Error(
      `${kernelName}: dy has shape [${dyShape}] but the convolution of [${inShape}] by filter [${filterShape}] ` +
        `(strides ${attrs.strides}, pad ${JSON.stringify(attrs.pad)}) outputs [${info.outShape}]`,
    );
  }
  return {
    info,
    rows: { inSize: info.inHeight, outSize: info.outHeight, filterSize: info.filterHeight, stride: info.strideHeight, dilation: info.dilationHeight, padBefore: info.padInfo.top },
    cols: { inSize: info.inWidth, outSize: info.outWidth, filterSize: info.filterWidth, stride: info.strideWidth, dilation: info.dilationWidth, padBefore: info.padInfo.left },
  };
}

/** One past the last (padded) input position the forward convolution reads along an axis. */
export function inputSpan(axis: AxisGeometry): number {
  return (axis.outSize - 1) * axis.stride + (axis.filterSize - 1) * axis.dilation + 1;
}

/** Padding after the input so that every position the forward convolution reads exists (0 when it stops short). */
export function padAfterToCover(axis: AxisGeometry): number {
  return Math.max(0, inputSpan(axis) - axis.padBefore - axis.inSize);
}

/** Spatial padding of the input that covers every position the forward convolution reads. */
export function coverPadding(g: ConvGeometry): { top: number; bottom: number; left: number; right: number } {
  return { top: g.rows.padBefore, bottom: padAfterToCover(g.rows), left: g.cols.padBefore, right: padAfterToCover(g.cols) };
}

/**
 * The input gradient along one axis is a stride-1 correlation of dY spread by the stride (each value followed
 * by stride−1 zeros, so `outSize·stride` long) with the flipped filter. These are its paddings, and how many
 * leading outputs to drop when the forward pass padded by more than the filter reaches.
 */
export interface InputGradientAxis {
  padBefore: number;
  padAfter: number;
  cropBefore: number;
}

export function inputGradientAxis(axis: AxisGeometry): InputGradientAxis {
  const reach = (axis.filterSize - 1) * axis.dilation;
  const before = reach - axis.padBefore;
  const after = axis.inSize + axis.padBefore - axis.outSize * axis.stride;
  return { padBefore: Math.max(0, before), padAfter: Math.max(0, after), cropBefore: Math.max(0, -before) };
}
