import * as tf from '@tensorflow/tfjs';
import { composeWasmKernel } from './kernel-scope.ts';
import { convGeometry } from './conv-geometry.ts';
import { inputGradientByConv } from './input-gradient.ts';
import { gradientKernelArgs, type KernelArgs } from './kernel-args.ts';

/**
 * Replaces the wasm package's Conv2DBackpropInput, a plain C++ loop 4–12× slower than XNNPACK on the
 * training benchmark's layers: dX is the stride-spread dY convolved with the flipped filter, its in/out channels
 * swapped to [fh,fw,Cout,Cin].
 */
export function conv2dBackpropInputWasm(args: KernelArgs): tf.TensorInfo {
  const name = tf.Conv2DBackpropInput;
  const { inputs: [dy, filter], attrs, backend } = gradientKernelArgs<tf.Conv2DBackpropInputAttrs>(name, args, ['dy', 'filter']);
  const dataFormat = tf.backend_util.convertConv2DDataFormat(attrs.dataFormat ?? 'NHWC');
  const g = convGeometry(name, attrs.inputShape, filter.shape, dy.shape, attrs, false, dataFormat);
  const channelsLast = g.info.dataFormat === 'channelsLast';
  return composeWasmKernel(backend, (scope) => {
    const flipped = scope.transpose(scope.reverse(filter, [0, 1]), [0, 1, 3, 2]);
    const grad = channelsLast ? dy : scope.transpose(dy, [0, 2, 3, 1]);
    const dx = inputGradientByConv(scope, grad, flipped, g, (input, kernel, dilations, pad) => scope.conv2d(input, kernel, [1, 1], dilations, pad));
    return channelsLast ? dx : scope.transpose(dx, [0, 3, 1, 2]);
  });
}
