import * as tf from '@tensorflow/tfjs';
import { TfOps, fusedActive, fusedKernelsEnabled, registerGradientOnce, registerTensorflowKernel, type OpAttr } from './tf-ops.ts';

/**
 * Convolutions through oneDNN on the native backend, and the Conv2D layer's convolution, bias and ReLU as one kernel.
 *
 * TensorFlow's CPU `Conv2D`, `Conv2DBackpropFilter` and `Conv2DBackpropInput` (what tfjs-node runs) are Eigen's;
 * libtensorflow's oneDNN build also has `_MklNativeConv2D`, `_MklNativeConv2DWithBias` (convolution + bias add),
 * `_MklNativeConv2DBackpropFilter` and `_MklNativeConv2DBackpropInput` (same inputs and attributes as TF's ops, NHWC,
 * 'SAME'/'VALID'), internal ops reached with `_kernel: 'MklNameChangeOp'` and 2–8× faster on the slice CNN's shapes
 * (bench/conv-ops.ts). With fused kernels on, tfjs's Conv2D, Conv2DBackpropFilter and Conv2DBackpropInput kernels
 * run them (native-kernels.ts), for every convolution of every model. oneDNN's fused conv + bias + ReLU
 * (`_MklNativeFusedConv2D`, `_FusedConv2D`) needs list attributes (`fused_ops`, `TArgs`) that tfjs-node's binding
 * cannot set, so the ReLU stays a separate `Relu`.
 *
 * `SliceseqConv2D` (inputs {x, filter, bias?}, attrs ConvAttrs) is tfjs's Conv2D layer (channels last, no dilation,
 * ReLU or no activation) in one kernel: `_MklNativeConv2DWithBias` (or `_MklNativeConv2D` without a bias) then
 * `Relu`, where tfjs runs Conv2D, Add and Relu (training) and Sum for the bias's gradient. Its gradient: dz = TF's
 * `ReluGrad(dy, y)` (dy where y > 0, else 0: y > 0 exactly where the pre-activation is, so it is ReLU's gradient; it
 * gives 0 where the pre-activation is NaN, as the fused ReLU gradient does), then dx and dfilter through the kernels
 * above and dbias = `BiasAddGrad(dz)`, each computed only if the tape asks for it (the first layer's input needs
 * none). Builds without oneDNN's ops (checked once) and the GPU package run TF's `Conv2D`, `BiasAdd` and `Relu`
 * instead. The twin is the layer's own code (fused kernels off, wasm, cpu).
 */
export const CONV2D = 'SliceseqConv2D';
export const BIAS_ADD_GRAD = 'SliceseqBiasAddGrad';

/** What tfjs's Conv2D layer passes (strides and padding as the layer has them). */
interface ConvAttrs {
  strides: [number, number];
  pad: 'same' | 'valid';
  activation: 'relu' | 'linear';
}

/**
 * oneDNN's filter gradient of a 1×1 convolution with stride > 1 (its "reduce to unit stride" path) writes outside
 * its buffers in this build: wrong gradients at 2 threads, heap corruption at 1 (found by the sweep of
 * bench/conv-ops.ts; the other 180 shapes of kernel size, stride and padding agree with TF's ops). Such convolutions keep TF's ops.
 */
function oneDnnSafe(filterHeight: number, filterWidth: number, strides: [number, number]): boolean {
  return !(filterHeight === 1 && filterWidth === 1 && (strides[0] > 1 || strides[1] > 1));
}

/** oneDNN's convolutions run on the CPU package only: on the GPU package they would pull every tensor to the host. */
let oneDnnAllowed = false;
let available: boolean | null = null;

type Conv2DInfo = ReturnType<typeof tf.backend_util.computeConv2DInfo>;

/** A convolution's attributes, channels last (TF's `Conv2D` and its backprops take these). */
function convOpAttrs(ops: TfOps, strides: [number, number], padding: 'SAME' | 'VALID', dilations: [number, number] = [1, 1]): OpAttr[] {
  return [
    ops.T,
    ops.int('strides', [1, strides[0], strides[1], 1]),
    ops.string('padding', padding),
    ops.string('data_format', 'NHWC'),
    ops.int('dilations', [1, dilations[0], dilations[1], 1]),
  ];
}

/** The same attributes for oneDNN's internal ops, which the kernel label `MklNameChangeOp` selects. */
function oneDnnAttrs(ops: TfOps, strides: [number, number], padding: 'SAME' | 'VALID', dilations: [number, number] = [1, 1]): OpAttr[] {
  return [...convOpAttrs(ops, strides, padding, dilations), ops.string('_kernel', 'MklNameChangeOp')];
}

function oneDnnAvailable(ops: TfOps): boolean {
  if (!oneDnnAllowed) return false;
  if (available === null) {
    const x = tf.zeros([1, 2, 2, 1]);
    const filter = tf.zeros([1, 1, 1, 1]);
    const sizes = tf.tensor1d([1, 2, 2, 1], 'int32');
    const filterSizes = tf.tensor1d([1, 1, 1, 1], 'int32');
    const attrs = oneDnnAttrs(ops, [1, 1], 'VALID');
    available =
      ops.has('_MklNativeConv2D', [x, filter], attrs, 1) &&
      ops.has('_MklNativeConv2DWithBias', [x, filter, tf.zeros([1])], attrs, 1) &&
      ops.has('_MklNativeConv2DBackpropFilter', [x, filterSizes, x], attrs, 1) &&
      ops.has('_MklNativeConv2DBackpropInput', [sizes, filter, x], attrs, 1);
    tf.dispose([x, filter, sizes, filterSizes]);
  }
  return available;
}

/** Whether convolutions run through oneDNN in this process (for tests and `sliceseq env`); probes once. */
export function oneDnnConvAvailable(backend: unknown): boolean {
  return oneDnnAvailable(TfOps.of(backend));
}

/** oneDNN's attributes for a tfjs convolution, or null where its ops do not apply (fused off, NCHW, explicit pads, 1×1 strided). */
function oneDnnFor(backend: unknown, info: Conv2DInfo, dtype: string): { ops: TfOps; attrs: OpAttr[] } | null {
  const padding = info.padInfo.type;
  if (!fusedKernelsEnabled() || dtype !== 'float32' || info.dataFormat !== 'channelsLast' || (padding !== 'SAME' && padding !== 'VALID')) return null;
  if (!oneDnnSafe(info.filterHeight, info.filterWidth, [info.strideHeight, info.strideWidth])) return null;
  const ops = TfOps.of(backend);
  if (!oneDnnAvailable(ops)) return null;
  return { ops, attrs: oneDnnAttrs(ops, [info.strideHeight, info.strideWidth], padding, [info.dilationHeight, info.dilationWidth]) };
}

/** tfjs's Conv2D kernel through oneDNN; null where it does not apply (tfjs-node's own kernel runs). */
export function oneDnnConv2D(backend: unknown, x: tf.TensorInfo, filter: tf.TensorInfo, info: Conv2DInfo): tf.Tensor | null {
  const run = oneDnnFor(backend, info, x.dtype);
  return run && run.ops.one('_MklNativeConv2D', [x, filter], run.attrs);
}

/** tfjs's Conv2DBackpropInput kernel through oneDNN (dx of a convolution); null where it does not apply. */
export function oneDnnConv2DBackpropInput(backend: unknown, dy: tf.TensorInfo, filter: tf.TensorInfo, info: Conv2DInfo): tf.Tensor | null {
  const run = oneDnnFor(backend, info, dy.dtype);
  return run && run.ops.oneWithShape('_MklNativeConv2DBackpropInput', [filter, dy], info.inShape, 0, run.attrs);
}

/** tfjs's Conv2DBackpropFilter kernel through oneDNN (dfilter of a convolution); null where it does not apply. */
export function oneDnnConv2DBackpropFilter(backend: unknown, x: tf.TensorInfo, dy: tf.TensorInfo, info: Conv2DInfo): tf.Tensor | null {
  const run = oneDnnFor(backend, info, x.dtype);
  return run && run.ops.oneWithShape('_MklNativeConv2DBackpropFilter', [x, dy], info.filterShape, 1, run.attrs);
}

const convKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const ops = TfOps.of(backend);
  const { x, filter, bias } = inputs as { x: tf.TensorInfo; filter: tf.TensorInfo; bias?: tf.TensorInfo };
  const { strides, pad, activation } = attrs as unknown as ConvAttrs;
  const padding = pad === 'same' ? 'SAME' : 'VALID';
  let y: tf.Tensor;
  if (oneDnnAvailable(ops) && oneDnnSafe(filter.shape[0], filter.shape[1], strides)) {
    y = ops.one(bias ? '_MklNativeConv2DWithBias' : '_MklNativeConv2D', bias ? [x, filter, bias] : [x, filter], oneDnnAttrs(ops, strides, padding));
  } else {
    y = ops.one('Conv2D', [x, filter], convOpAttrs(ops, strides, padding));
    if (bias) y = replace(y, () => ops.one('BiasAdd', [y, bias], [ops.T, ops.string('data_format', 'NHWC')]));
  }
  return activation === 'relu' ? replace(y, () => ops.one('Relu', [y])) : y;
};

/** `next()`, disposing `previous` (an intermediate of this kernel). */
function replace(previous: tf.Tensor, next: () => tf.Tensor): tf.Tensor {
  try {
    return next();
  } finally {
    previous.dispose();
  }
}

const biasAddGradKernel: tf.KernelFunc = ({ inputs, backend }) => {
  const ops = TfOps.of(backend);
  return ops.one('BiasAddGrad', [(inputs as { dy: tf.TensorInfo }).dy], [ops.T, ops.string('data_format', 'NHWC')]);
};

let layerHooked = false;

/**
 * Registers the kernels above and routes tfjs's Conv2D layer through `SliceseqConv2D` where it applies (its `call`;
 * the layer's class, config and weights are unchanged). `oneDnn`: whether the loaded package may use oneDNN's ops
 * (the CPU package). Idempotent.
 */
export function registerConvKernels(reluGradKernel: string, oneDnn: boolean): void {
  oneDnnAllowed = oneDnn;
  available = null;
  registerTensorflowKernel(CONV2D, convKernel);
  registerTensorflowKernel(BIAS_ADD_GRAD, biasAddGradKernel);
  registerGradientOnce({
    kernelName: CONV2D,
    inputsToSave: ['x', 'filter'],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [x, filter, y] = saved as tf.Tensor4D[];
      const { strides, pad, activation } = attrs as unknown as ConvAttrs;
      const dz = activation === 'relu' ? (tf.engine().runKernel(reluGradKernel, { dy: dy as tf.Tensor, x: y }) as tf.Tensor4D) : (dy as tf.Tensor4D);
      const conv = { strides, pad, dataFormat: 'NHWC' };
      return {
        x: () => tf.engine().runKernel(tf.Conv2DBackpropInput, { dy: dz, filter }, { ...conv, inputShape: x.shape } as unknown as tf.NamedAttrMap) as tf.Tensor,
        filter: () => tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy: dz }, { ...conv, filterShape: filter.shape } as unknown as tf.NamedAttrMap) as tf.Tensor,
        bias: () => tf.engine().runKernel(BIAS_ADD_GRAD, { dy: dz }) as tf.Tensor,
      };
    },
  });
  if (layerHooked) return;
  const entry = tf.serialization.SerializationMap.getMap().classNameMap.Conv2D;
  if (!entry) throw new Error("registerConvKernels: tfjs-layers has no 'Conv2D' class");
  type Call = (inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) => tf.Tensor | tf.Tensor[];
  const prototype = (entry[0] as unknown as { prototype: { call: Call } }).prototype;
  const own = prototype.call;
  prototype.call = function (this: ConvLayer, inputs, kwargs) {
    return fusedConvLayer(this, inputs) ?? own.call(this, inputs, kwargs);
  };
  layerHooked = true;
}

/** The parts of tfjs-layers' Conv2D layer the fused path reads. */
interface ConvLayer {
  kernel: { read(): tf.Tensor };
  bias: { read(): tf.Tensor } | null;
  strides: number[];
  padding: string;
  dataFormat: string;
  dilationRate: number | number[];
  activation: { getClassName(): string } | null;
}

/** The layer's output through `SliceseqConv2D`; null where that path does not apply (tfjs-layers' own call runs). */
function fusedConvLayer(layer: ConvLayer, inputs: tf.Tensor | tf.Tensor[]): tf.Tensor | null {
  const x = Array.isArray(inputs) ? (inputs.length === 1 ? inputs[0] : null) : inputs;
  if (!x || !fusedActive() || x.rank !== 4 || x.dtype !== 'float32' || layer.dataFormat !== 'channelsLast') return null;
  const activation = layer.activation?.getClassName() ?? 'linear';
  const dilations = [layer.dilationRate].flat();
  if ((activation !== 'relu' && activation !== 'linear') || dilations.some((d) => d !== 1)) return null;
  if (layer.padding !== 'same' && layer.padding !== 'valid') return null;
  const attrs: ConvAttrs = { strides: [layer.strides[0], layer.strides[1]], pad: layer.padding, activation };
  const kernelInputs: tf.NamedTensorMap = { x, filter: layer.kernel.read() };
  if (layer.bias) kernelInputs.bias = layer.bias.read();
  return tf.engine().runKernel(CONV2D, kernelInputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
}
