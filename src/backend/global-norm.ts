import * as tf from '@tensorflow/tfjs';
import { sliceseqOpReady } from './sliceseq-ops.ts';
import { TfOps, registerTensorflowKernel } from './tf-ops.ts';

/**
 * The global L2 norm of a list of tensors as one kernel on the native backend: √(2·AddN(L2Loss(gₖ) for each k)),
 * TensorFlow's `L2Loss` being Σx²/2 of a whole tensor in one op (one TF op per gradient instead of Square and Sum:
 * 24 gradients take 27 ops, not 50). Equal to tfjs's √Σ Σ g² within float32 rounding (L2Loss sums in its own
 * order). Inputs {g0, g1, …}; output a scalar. No gradient (it measures gradients). The wasm and cpu twin is
 * globalNorm in src/train/step.ts. Where sliceseq's TensorFlow ops are loaded (sliceseq-ops.ts) it is one op of ours,
 * `SliceseqGlobalNorm` (native/tf-ops/flat_optimizers.cc), which sums the squares in double: within float32 rounding of
 * both.
 */
export const GLOBAL_NORM = 'SliceseqGlobalNorm';
/** Our TensorFlow op (native/tf-ops/flat_optimizers.cc); TensorFlow's registry and tfjs's are separate namespaces. */
const SLICESEQ_GLOBAL_NORM = 'SliceseqGlobalNorm';

const globalNormKernel: tf.KernelFunc = ({ inputs, backend }) =>
  tf.tidy(() => {
    const ops = TfOps.of(backend);
    const tensors = Object.keys(inputs)
      .sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)))
      .map((name) => (inputs as Record<string, tf.Tensor>)[name]);
    if (sliceseqOpReady(SLICESEQ_GLOBAL_NORM)) return ops.one(SLICESEQ_GLOBAL_NORM, tensors, [ops.int('N', tensors.length)]);
    const halves = tensors.map((g) => ops.one('L2Loss', [g]));
    const half = halves.length === 1 ? halves[0] : ops.one('AddN', halves, [ops.int('N', halves.length), ops.T]);
    return ops.one('Sqrt', [ops.one('Mul', [half, ops.constant(2)])]);
  });

export function registerGlobalNormKernel(): void {
  registerTensorflowKernel(GLOBAL_NORM, globalNormKernel);
}

/** √(Σ‖gₖ‖²) over `tensors` (at least one). Native backend only. */
export function fusedGlobalNorm(tensors: readonly tf.Tensor[]): tf.Scalar {
  return tf.engine().runKernel(GLOBAL_NORM, Object.fromEntries(tensors.map((g, k) => [`g${k}`, g]))) as tf.Scalar;
}
