import * as tf from '@tensorflow/tfjs';

/** Attribute values of the wasm kernels composed here (shapes, axes, paddings, flags, strings). */
type KernelAttrs = Record<string, number | boolean | string | number[] | number[][] | null | undefined>;

/**
 * Runs registered wasm kernels directly on TensorInfos, the way tfjs backends compose kernels internally:
 * no engine tensors, no tape, no scopes. Every output is owned by the scope and freed by `release`, except the
 * one handed back as the kernel's result, whose data then belongs to the engine.
 */
export class WasmKernelScope {
  private readonly owned: tf.TensorInfo[] = [];

  constructor(private readonly backend: tf.KernelBackend) {}

  run(kernelName: string, inputs: Record<string, tf.TensorInfo> | tf.TensorInfo[], attrs: KernelAttrs = {}): tf.TensorInfo {
    const kernel = tf.getKernel(kernelName, 'wasm');
    if (!kernel) throw new Error(`wasm training kernels need the wasm kernel '${kernelName}', which is not registered`);
    const out = kernel.kernelFunc({ inputs: inputs as tf.NamedTensorInfoMap, backend: this.backend, attrs: attrs as tf.NamedAttrMap });
    if (Array.isArray(out)) throw new Error(`wasm kernel '${kernelName}' returned ${out.length} outputs where one was expected`);
    this.owned.push(out);
    return out;
  }

  transpose(x: tf.TensorInfo, perm: number[]): tf.TensorInfo {
    return this.run(tf.Transpose, { x }, { perm });
  }

  reshape(x: tf.TensorInfo, shape: number[]): tf.TensorInfo {
    return this.run(tf.Reshape, { x }, { shape });
  }

  /** Zero padding; `before`/`after` per axis. */
  pad(x: tf.TensorInfo, paddings: Array<[number, number]>): tf.TensorInfo {
    return this.run(tf.PadV2, { x }, { paddings, constantValue: 0 });
  }

  slice(x: tf.TensorInfo, begin: number[], size: number[]): tf.TensorInfo {
    return this.run(tf.Slice, { x }, { begin, size });
  }

  stridedSlice(x: tf.TensorInfo, begin: number[], end: number[], strides: number[]): tf.TensorInfo {
    return this.run(tf.StridedSlice, { x }, { begin, end, strides, beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0 });
  }

  reverse(x: tf.TensorInfo, dims: number[]): tf.TensorInfo {
    return this.run(tf.Reverse, { x }, { dims });
  }

  sum(x: tf.TensorInfo, axis: number[]): tf.TensorInfo {
    return this.run(tf.Sum, { x }, { axis, keepDims: false });
  }

  multiply(a: tf.TensorInfo, b: tf.TensorInfo): tf.TensorInfo {
    return this.run(tf.Multiply, { a, b });
  }

  matMul(a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean): tf.TensorInfo {
    return this.run(tf.BatchMatMul, { a, b }, { transposeA, transposeB });
  }

  pack(tensors: tf.TensorInfo[], axis: number): tf.TensorInfo {
    return this.run(tf.Pack, tensors, { axis });
  }

  /** NHWC conv2d through XNNPACK with explicit padding. */
  conv2d(x: tf.TensorInfo, filter: tf.TensorInfo, strides: [number, number], dilations: [number, number], pad: ExplicitPad): tf.TensorInfo {
    return this.run(tf.Conv2D, { x, filter }, { strides, dilations, pad: explicitPadding(pad), dataFormat: 'NHWC', dimRoundingMode: null });
  }

  /** NHWC depthwise conv2d through XNNPACK with explicit padding. */
  depthwiseConv2d(x: tf.TensorInfo, filter: tf.TensorInfo, strides: [number, number], dilations: [number, number], pad: ExplicitPad): tf.TensorInfo {
    return this.run(tf.DepthwiseConv2dNative, { x, filter }, { strides, dilations, pad: explicitPadding(pad), dimRoundingMode: null });
  }

  /** Frees intermediates early (large ones inside loops), before the scope ends. */
  free(...infos: tf.TensorInfo[]): void {
    for (const info of infos) {
      const index = this.owned.indexOf(info);
      if (index < 0) continue;
      this.owned.splice(index, 1);
      this.backend.disposeData(info.dataId);
    }
  }

  /** The engine takes ownership of a kernel's output: an input handed straight back must be copied first. */
  owns(result: tf.TensorInfo): tf.TensorInfo {
    return this.owned.includes(result) ? result : this.run(tf.Identity, { x: result });
  }

  /** Frees every intermediate; `result` (if given) survives as the kernel's output. */
  release(result?: tf.TensorInfo): void {
    for (const info of this.owned) {
      if (info !== result) this.backend.disposeData(info.dataId);
    }
    this.owned.length = 0;
  }
}

/** Non-negative padding per side of the two spatial axes. */
export interface ExplicitPad {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

function explicitPadding(pad: ExplicitPad): number[][] {
  return [
    [0, 0],
    [pad.top, pad.bottom],
    [pad.left, pad.right],
    [0, 0],
  ];
}

/** Runs `body` in a fresh scope; intermediates are freed whether it returns or throws. */
export function composeWasmKernel(backend: tf.KernelBackend, body: (scope: WasmKernelScope) => tf.TensorInfo): tf.TensorInfo {
  const scope = new WasmKernelScope(backend);
  let result: tf.TensorInfo | undefined;
  try {
    result = scope.owns(body(scope));
    return result;
  } finally {
    scope.release(result);
  }
}
