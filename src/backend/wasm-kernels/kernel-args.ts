import * as tf from '@tensorflow/tfjs';

/** What tfjs hands a kernel function. */
export interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: {};
  attrs?: tf.NamedAttrMap;
}

/** A named float32 input of a kernel, or an error naming the kernel and the input. */
function floatInput(kernelName: string, args: KernelArgs, name: string): tf.TensorInfo {
  const info = args.inputs[name];
  if (!info) throw new Error(`${kernelName}: missing input '${name}'`);
  if (info.dtype !== 'float32') throw new Error(`${kernelName}: input '${name}' must be float32, got ${info.dtype}`);
  return info;
}

/**
 * The two float32 inputs every convolution gradient kernel takes, its attributes as their tfjs type (tfjs
 * passes them untyped) and the wasm backend as the generic backend a kernel scope needs.
 */
export function gradientKernelArgs<Attrs>(
  kernelName: string,
  args: KernelArgs,
  inputNames: [string, string],
): { inputs: [tf.TensorInfo, tf.TensorInfo]; attrs: Attrs; backend: tf.KernelBackend } {
  if (!args.attrs) throw new Error(`${kernelName}: missing attributes`);
  return {
    inputs: [floatInput(kernelName, args, inputNames[0]), floatInput(kernelName, args, inputNames[1])],
    attrs: args.attrs as unknown as Attrs,
    backend: args.backend as tf.KernelBackend,
  };
}
