import * as tf from '@tensorflow/tfjs';
import { TfOps, registerTensorflowKernel } from './tf-ops.ts';

/**
 * The global L2 norm of a list of tensors as one kernel on the native backend: √(AddN(Sum(Square(gₖ)) for each k)),
 * the same TensorFlow ops in the same order as tfjs's per-tensor ops (bitwise the same). Inputs {g0, g1, …};
 * output a scalar. No gradient (it measures gradients). The wasm and cpu twin is globalNorm in src/train/step.ts.
 */
export const GLOBAL_NORM = 'SliceseqGlobalNorm';

const globalNormKernel: tf.KernelFunc = ({ inputs, backend }) =>
  tf.tidy(() => {
    const ops = TfOps.of(backend);
    const tensors = Object.keys(inputs)
      .sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)))
      .map((name) => (inputs as Record<string, tf.Tensor>)[name]);
    const sums = tensors.map((g) => ops.one('Sum', [ops.one('Square', [g]), ops.constant(g.shape.map((_, axis) => axis), 'int32')], [ops.bool('keep_dims', false), ops.T, ops.type('Tidx', 'int32')]));
    const total = sums.length === 1 ? sums[0] : ops.one('AddN', sums, [ops.int('N', sums.length), ops.T]);
    return ops.one('Sqrt', [total]);
  });

export function registerGlobalNormKernel(): void {
  registerTensorflowKernel(GLOBAL_NORM, globalNormKernel);
}

/** √(Σ‖gₖ‖²) over `tensors` (at least one). Native backend only. */
export function fusedGlobalNorm(tensors: readonly tf.Tensor[]): tf.Scalar {
  return tf.engine().runKernel(GLOBAL_NORM, Object.fromEntries(tensors.map((g, k) => [`g${k}`, g]))) as tf.Scalar;
}
