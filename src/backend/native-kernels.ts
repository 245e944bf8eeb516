import * as tf from '@tensorflow/tfjs';
import { registerAslKernel } from './asymmetric-loss.ts';
import { registerAttentionKernels } from './attention.ts';
import { registerBlockLstmKernels } from './block-lstm.ts';
import { registerDenseKernels } from './dense.ts';
import { registerGatherRowsKernel } from './gather-rows.ts';
import { registerReduceGradKernel } from './reduce-grad.ts';
import { oneDnnConv2D, oneDnnConv2DBackpropFilter, oneDnnConv2DBackpropInput, registerConvKernels } from './conv.ts';
import { loadSliceseqOps } from './sliceseq-ops.ts';
import { registerFlatAdamKernel } from './flat-adam.ts';
import { registerFlatMomentumKernel } from './flat-momentum.ts';
import { registerFlatRmspropKernel } from './flat-rmsprop.ts';
import { registerGlobalNormKernel } from './global-norm.ts';
import { registerGruKernels } from './gru.ts';
import { registerLayerNormKernels } from './layer-norm.ts';
import { oneDnnMaxPoolGrad, registerMaxPoolKernels } from './mkl-max-pool.ts';
import { bindNativePackage, fusedActive, fusedKernelsEnabled, overrideGradient, registerTensorflowKernel, TfOps, type NativeBackend, type OpAttr } from './tf-ops.ts';

/**
 * Kernels registered over tfjs-node's own for the 'tensorflow' backend.
 *
 * - Explicit padding: tfjs-node 4.22 refuses a numeric or per-side `pad` on convolutions and pools ("TF Backend
 *   supports only 'valid' and 'same' padding"), although TensorFlow has it: convolutions go to the same TF ops with
 *   padding 'EXPLICIT' and explicit_paddings; max pools pad with −∞ and pool 'valid'.
 * - Step (ReLU's gradient): tfjs-node composes it from six ops (IsNan, Greater, two fills, two Selects); for
 *   alpha 0 it is Sign(Relu(x)), which keeps NaN as NaN, in two.
 * - BatchMatMul of two rank-2 inputs (every dense layer and recurrent step): tfjs-node runs TF's BatchMatMulV2,
 *   about 6× slower per call than `MatMul` on the same shapes; fused kernels on, rank-2 products run `MatMul`.
 * - Conv2D, Conv2DBackpropInput, Conv2DBackpropFilter ('valid'/'same', channels last), fused kernels on: oneDNN's
 *   (conv.ts), with TF's ops as fallback.
 * - MaxPoolGrad ('valid'/'same'), fused kernels on: oneDNN's (mkl-max-pool.ts), with TF's MaxPoolGrad as fallback.
 * - Reshape to the input's own shape and Cast to its own dtype (tfjs's gradients of broadcasting ops and of Mul
 *   make dozens a step), fused kernels on: the input's data shared, as tfjs-node's Identity does, instead of a TF
 *   op, a shape tensor and their bookkeeping.
 * - ReLU's gradient, fused kernels on: TF's `ReluGrad(dy, x)` (dy where x > 0, else 0) in one op instead of
 *   Mul(dy, Cast(Step(x))). It differs only where x is NaN: 0 instead of NaN.
 * Anything else falls through to tfjs-node's kernel.
 */

type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];
type Conv2DInfo = ReturnType<typeof tf.backend_util.computeConv2DInfo>;

const isStandard = (info: { padInfo: { type: string } }) => info.padInfo.type === 'SAME' || info.padInfo.type === 'VALID';

function convAttrs(backend: NativeBackend, info: Conv2DInfo, withCudnn: boolean): OpAttr[] {
  const { binding } = backend;
  const nhwc = info.dataFormat === 'channelsLast';
  const { top, left } = info.padInfo;
  // With dimRoundingMode 'ceil' tfjs counts one more output row or column than the pads give TF's floor formula:
  // pad the far side enough for it (those taps read zeros, as on tfjs's own backends).
  const bottom = Math.max(info.padInfo.bottom, (info.outHeight - 1) * info.strideHeight + info.effectiveFilterHeight - info.inHeight - top);
  const right = Math.max(info.padInfo.right, (info.outWidth - 1) * info.strideWidth + info.effectiveFilterWidth - info.inWidth - left);
  return [
    { name: 'T', type: binding.TF_ATTR_TYPE, value: binding.TF_FLOAT },
    { name: 'strides', type: binding.TF_ATTR_INT, value: nhwc ? [1, info.strideHeight, info.strideWidth, 1] : [1, 1, info.strideHeight, info.strideWidth] },
    { name: 'padding', type: binding.TF_ATTR_STRING, value: 'EXPLICIT' },
    { name: 'explicit_paddings', type: binding.TF_ATTR_INT, value: nhwc ? [0, 0, top, bottom, left, right, 0, 0] : [0, 0, 0, 0, top, bottom, left, right] },
    { name: 'data_format', type: binding.TF_ATTR_STRING, value: nhwc ? 'NHWC' : 'NCHW' },
    { name: 'dilations', type: binding.TF_ATTR_INT, value: nhwc ? [1, info.dilationHeight, info.dilationWidth, 1] : [1, 1, info.dilationHeight, info.dilationWidth] },
    ...(withCudnn ? [{ name: 'use_cudnn_on_gpu', type: binding.TF_ATTR_BOOL, value: true }] : []),
  ];
}

type Kernel = (args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }) => tf.TensorInfo | tf.TensorInfo[];

/** A kernel that takes over only when `explicit(args)` returns a result, else runs tfjs-node's own. */
function override(kernelName: string, explicit: (args: Parameters<Kernel>[0], backend: NativeBackend) => tf.TensorInfo | null): { kernelName: string; make: (own: Kernel) => Kernel } {
  return {
    kernelName,
    make: (own) => (args) => explicit(args, args.backend as NativeBackend) ?? own(args),
  };
}

const conv2D = override(tf.Conv2D, ({ inputs, attrs }, backend) => {
  const { x, filter } = inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
  const { strides, pad, dataFormat, dilations, dimRoundingMode } = attrs as unknown as tf.Conv2DAttrs;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filter.shape as [number, number, number, number], strides, dilations, pad as Pad, dimRoundingMode, false,
    tf.backend_util.convertConv2DDataFormat(dataFormat),
  );
  if (isStandard(info)) return oneDnnConv2D(backend, x, filter, info);
  return backend.executeSingleOutput('Conv2D', convAttrs(backend, info, true), [x, filter]);
});

const conv2DBackpropInput = override(tf.Conv2DBackpropInput, ({ inputs, attrs }, backend) => {
  const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as tf.Conv2DBackpropInputAttrs;
  const info = tf.backend_util.computeConv2DInfo(
    inputShape, filter.shape as [number, number, number, number], strides, 1, pad as Pad, dimRoundingMode, false, tf.backend_util.convertConv2DDataFormat(dataFormat),
  );
  if (isStandard(info)) return oneDnnConv2DBackpropInput(backend, dy, filter, info);
  return TfOps.of(backend).oneWithShape('Conv2DBackpropInput', [filter, dy], info.inShape, 0, convAttrs(backend, info, true));
});

const conv2DBackpropFilter = override(tf.Conv2DBackpropFilter, ({ inputs, attrs }, backend) => {
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filterShape, strides, 1, pad as Pad, dimRoundingMode, false, tf.backend_util.convertConv2DDataFormat(dataFormat),
  );
  if (isStandard(info)) return oneDnnConv2DBackpropFilter(backend, x, dy, info);
  return TfOps.of(backend).oneWithShape('Conv2DBackpropFilter', [x, dy], filterShape, 1, convAttrs(backend, info, true));
});

const depthwise = override(tf.DepthwiseConv2dNative, ({ inputs, attrs }, backend) => {
  const { x, filter } = inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
  const { strides, pad, dilations, dimRoundingMode } = attrs as unknown as tf.DepthwiseConv2dNativeAttrs;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filter.shape as [number, number, number, number], strides, dilations ?? 1, pad as Pad, dimRoundingMode, true,
  );
  return isStandard(info) ? null : backend.executeSingleOutput('DepthwiseConv2dNative', convAttrs(backend, info, false), [x, filter]);
});

const depthwiseBackpropInput = override(tf.DepthwiseConv2dNativeBackpropInput, ({ inputs, attrs }, backend) => {
  const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const { strides, pad, dilations, dimRoundingMode, inputShape } = attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
  const info = tf.backend_util.computeConv2DInfo(inputShape, filter.shape as [number, number, number, number], strides, dilations ?? 1, pad as Pad, dimRoundingMode, true);
  return isStandard(info) ? null : TfOps.of(backend).oneWithShape('DepthwiseConv2dNativeBackpropInput', [filter, dy], info.inShape, 0, convAttrs(backend, info, false));
});

const depthwiseBackpropFilter = override(tf.DepthwiseConv2dNativeBackpropFilter, ({ inputs, attrs }, backend) => {
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { strides, pad, dilations, dimRoundingMode, filterShape } = attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, dilations ?? 1, pad as Pad, dimRoundingMode, true);
  return isStandard(info) ? null : TfOps.of(backend).oneWithShape('DepthwiseConv2dNativeBackpropFilter', [x, dy], filterShape, 1, convAttrs(backend, info, false));
});

/** Max pools with explicit padding: pad with −∞ (never the maximum of a window with a real pixel), then 'valid'. */
function poolInfo(x: tf.TensorInfo, attrs: tf.MaxPoolAttrs) {
  return tf.backend_util.computePool2DInfo(x.shape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad as Pad, attrs.dimRoundingMode);
}

function padForPool(x: tf.TensorInfo, info: ReturnType<typeof poolInfo>): tf.Tensor4D {
  const { top, bottom, left, right } = info.padInfo;
  return tf.pad(x as tf.Tensor4D, [[0, 0], [top, bottom], [left, right], [0, 0]], Number.NEGATIVE_INFINITY);
}

const maxPool = override(tf.MaxPool, ({ inputs, attrs }) => {
  const { x } = inputs as { x: tf.TensorInfo };
  const poolAttrs = attrs as unknown as tf.MaxPoolAttrs;
  const info = poolInfo(x, poolAttrs);
  if (isStandard(info)) return null;
  return tf.tidy(() => tf.maxPool(padForPool(x, info), poolAttrs.filterSize, poolAttrs.strides, 'valid'));
});

const maxPoolGrad = override(tf.MaxPoolGrad, ({ inputs, attrs }, backend) => {
  const { dy, input, output } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo; output: tf.TensorInfo };
  const poolAttrs = attrs as unknown as tf.MaxPoolGradAttrs;
  const info = poolInfo(input, poolAttrs);
  if (isStandard(info)) {
    const window = { ksize: [1, info.filterHeight, info.filterWidth, 1], strides: [1, info.strideHeight, info.strideWidth, 1], padding: info.padInfo.type as 'VALID' | 'SAME' };
    return oneDnnMaxPoolGrad(backend, input, output, dy, window);
  }
  return tf.tidy(() => {
    const padded = padForPool(input, info);
    const grad = tf.engine().runKernel(tf.MaxPoolGrad, { dy, input: padded, output } as unknown as tf.NamedTensorMap, { filterSize: poolAttrs.filterSize, strides: poolAttrs.strides, pad: 'valid' }) as tf.Tensor4D;
    const [n, h, w, c] = input.shape;
    return tf.slice(grad, [0, info.padInfo.top, info.padInfo.left, 0], [n, h, w, c]);
  });
});

const step = override(tf.Step, ({ inputs, attrs }, backend) => {
  const { x } = inputs as { x: tf.TensorInfo };
  if ((attrs as unknown as tf.StepAttrs).alpha !== 0 || x.dtype !== 'float32') return null;
  const T = [{ name: 'T', type: backend.binding.TF_ATTR_TYPE, value: backend.binding.TF_FLOAT }];
  const relu = backend.executeSingleOutput('Relu', T, [x]);
  try {
    return backend.executeSingleOutput('Sign', T, [relu]);
  } finally {
    relu.dispose();
  }
});

const batchMatMul = override(tf.BatchMatMul, ({ inputs, attrs }, backend) => {
  const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  if (!fusedKernelsEnabled() || a.shape.length !== 2 || b.shape.length !== 2 || a.dtype !== 'float32' || b.dtype !== 'float32') return null;
  const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
  const ops = TfOps.of(backend);
  return ops.one('MatMul', [a, b], [ops.T, ops.bool('transpose_a', transposeA), ops.bool('transpose_b', transposeB)]);
});

/** The input itself as a kernel's output (another reference to its data). */
function shared(backend: NativeBackend, x: tf.TensorInfo): tf.TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

const reshape = override(tf.Reshape, ({ inputs, attrs }, backend) => {
  const { x } = inputs as { x: tf.TensorInfo };
  if (!fusedKernelsEnabled()) return null;
  const shape = tf.util.inferFromImplicitShape([...(attrs as unknown as tf.ReshapeAttrs).shape], tf.util.sizeFromShape(x.shape));
  return tf.util.arraysEqual(shape, x.shape) ? shared(backend, x) : null;
});

const cast = override(tf.Cast, ({ inputs, attrs }, backend) => {
  const { x } = inputs as { x: tf.TensorInfo };
  return fusedKernelsEnabled() && (attrs as unknown as tf.CastAttrs).dtype === x.dtype ? shared(backend, x) : null;
});

const overrides = [conv2D, conv2DBackpropInput, conv2DBackpropFilter, depthwise, depthwiseBackpropInput, depthwiseBackpropFilter, maxPool, maxPoolGrad, step, batchMatMul, reshape, cast];

/** TF's ReluGrad as a kernel: inputs {dy, x}. */
export const RELU_GRAD = 'SliceseqReluGrad';
const reluGrad: tf.KernelFunc = ({ inputs, backend }) => {
  const { dy, x } = inputs as { dy: tf.TensorInfo; x: tf.TensorInfo };
  return TfOps.of(backend).one('ReluGrad', [dy, x]);
};

/** Relu's gradient: ReluGrad on the native backend with fused kernels on, else tfjs's own (unchanged). */
function wrapReluGradient(): void {
  overrideGradient(tf.Relu, (dy, saved) =>
    fusedActive() && saved[0].dtype === 'float32' ? { x: () => tf.engine().runKernel(RELU_GRAD, { dy: dy as tf.Tensor, x: saved[0] }) as tf.Tensor } : null,
  );
}
/** Our kernel functions, by name, so registering twice changes nothing. */
const registered = new Map<string, tf.KernelFunc>();

/**
 * Registers the kernels above over tfjs-node's for 'tensorflow', and the fused kernels (block-lstm.ts, …); call
 * after the native package `pkg` is imported (idempotent).
 */
export function registerNativeKernels(pkg = '@tensorflow/tfjs-node'): void {
  bindNativePackage(pkg);
  if (pkg === '@tensorflow/tfjs-node') loadSliceseqOps();
  registerTensorflowKernel(RELU_GRAD, reluGrad);
  wrapReluGradient();
  registerBlockLstmKernels();
  registerDenseKernels();
  registerGatherRowsKernel();
  registerReduceGradKernel();
  registerGruKernels();
  registerLayerNormKernels();
  registerAttentionKernels();
  registerFlatAdamKernel();
  registerFlatMomentumKernel();
  registerFlatRmspropKernel();
  registerGlobalNormKernel();
  registerAslKernel();
  registerMaxPoolKernels();
  registerConvKernels(RELU_GRAD, pkg === '@tensorflow/tfjs-node');
  for (const { kernelName, make } of overrides) {
    const current = tf.getKernel(kernelName, 'tensorflow');
    if (!current) throw new Error(`registerNativeKernels: tfjs-node has no '${kernelName}' kernel: import the native package first`);
    if (registered.get(kernelName) === current.kernelFunc) continue;
    const kernelFunc = make(current.kernelFunc as Kernel) as tf.KernelFunc;
    tf.unregisterKernel(kernelName, 'tensorflow');
    tf.registerKernel({ kernelName, backendName: 'tensorflow', kernelFunc });
    registered.set(kernelName, kernelFunc);
  }
}

/** The kernel names this module takes over (for tests and `sliceseq env`). */
export const nativeKernelNames: readonly string[] = overrides.map((o) => o.kernelName);
