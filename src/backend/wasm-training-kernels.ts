import * as tf from '@tensorflow/tfjs';
import { conv2dBackpropFilterWasm } from './wasm-kernels/conv2d-backprop-filter.ts';
import { conv2dBackpropInputWasm } from './wasm-kernels/conv2d-backprop-input.ts';
import { depthwiseBackpropFilterWasm, depthwiseBackpropInputWasm } from './wasm-kernels/depthwise-backprop.ts';
import { maxPoolGradWasm } from './wasm-kernels/max-pool-grad.ts';

/**
 * Convolution gradients for the wasm backend, composed from its XNNPACK convolutions. tfjs-backend-wasm 4.22
 * lacks the filter gradients (training a conv net fails with "Kernel 'Conv2DBackpropFilter' not registered")
 * and ships Conv2DBackpropInput and MaxPoolGrad as plain loops; these make training on wasm both possible and fast.
 */
export const wasmTrainingKernels: ReadonlyArray<{ kernelName: string; kernelFunc: tf.KernelFunc }> = [
  { kernelName: tf.Conv2DBackpropFilter, kernelFunc: conv2dBackpropFilterWasm },
  { kernelName: tf.Conv2DBackpropInput, kernelFunc: conv2dBackpropInputWasm },
  { kernelName: tf.DepthwiseConv2dNativeBackpropFilter, kernelFunc: depthwiseBackpropFilterWasm },
  { kernelName: tf.DepthwiseConv2dNativeBackpropInput, kernelFunc: depthwiseBackpropInputWasm },
  { kernelName: tf.MaxPoolGrad, kernelFunc: maxPoolGradWasm },
];

/**
 * Registers the kernels above for 'wasm' (idempotent: already-registered ones are left alone). Call it after
 * importing @tensorflow/tfjs-backend-wasm, whose own registrations would otherwise replace these.
 */
export function registerWasmTrainingKernels(): void {
  if (!tf.getKernel(tf.Conv2D, 'wasm')) {
    throw new Error('registerWasmTrainingKernels: import @tensorflow/tfjs-backend-wasm before registering the wasm training kernels');
  }
  for (const { kernelName, kernelFunc } of wasmTrainingKernels) {
    const current = tf.getKernel(kernelName, 'wasm');
    if (current?.kernelFunc === kernelFunc) continue;
    if (current) tf.unregisterKernel(kernelName, 'wasm');
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
  }
}
