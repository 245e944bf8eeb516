import * as tf from '@tensorflow/tfjs';
import { TfOps, registerGradientOnce, registerTensorflowKernel } from './tf-ops.ts';

/**
 * Layer normalisation over the last axis as one kernel on the native backend, forward and backward written out
 * over TensorFlow ops. Forward, op for op as tfjs computes it (tf.moments, then the affine map), so bitwise the same:
 *   μ = Mean(x), σ² = Mean((x − μ)²), x̂ = (x − μ) / √(σ² + ε), y = x̂·γ + β.
 * Backward (N = the last axis's size): dγ = Σ dy·x̂, dβ = Σ dy over the leading axes, and with g = dy·γ,
 *   dx = (g − Mean(g) − x̂·Mean(g·x̂)) / √(σ² + ε).
 * Inputs {x, gamma, beta}, attrs {epsilon}; outputs [y, x̂, √(σ² + ε)]. The wasm and cpu twin is layerNorm in
 * src/models/layers/attention-ops.ts.
 */
export const LAYER_NORM = 'SliceseqLayerNorm';
export const LAYER_NORM_GRAD = 'SliceseqLayerNormGrad';

function reduce(ops: TfOps, op: 'Mean' | 'Sum', x: tf.Tensor, axes: number[], keepDims: boolean): tf.Tensor {
  return ops.one(op, [x, tf.tensor1d(axes, 'int32')], [ops.bool('keep_dims', keepDims), ops.T, ops.type('Tidx', 'int32')]);
}

const layerNormKernel: tf.KernelFunc = ({ inputs, backend, attrs }) =>
  tf.tidy(() => {
    const ops = TfOps.of(backend);
    const { x, gamma, beta } = inputs as Record<string, tf.Tensor>;
    const { epsilon } = attrs as unknown as { epsilon: number };
    const last = x.rank - 1;
    const centered = ops.one('Sub', [x, reduce(ops, 'Mean', x, [last], true)]);
    const deviation = ops.one('Sqrt', [ops.one('AddV2', [reduce(ops, 'Mean', ops.one('Square', [centered]), [last], true), tf.scalar(epsilon)])]);
    const normalized = ops.one('RealDiv', [centered, deviation]);
    return [ops.one('AddV2', [ops.one('Mul', [normalized, gamma]), beta]), normalized, deviation];
  });

/** Inputs {dy, normalized, deviation, gamma} → [dx, dgamma, dbeta]. */
const layerNormGradKernel: tf.KernelFunc = ({ inputs, backend }) =>
  tf.tidy(() => {
    const ops = TfOps.of(backend);
    const { dy, normalized, deviation, gamma } = inputs as Record<string, tf.Tensor>;
    const last = dy.rank - 1;
    const leading = Array.from({ length: last }, (_, axis) => axis);
    const g = ops.one('Mul', [dy, gamma]);
    const meanG = reduce(ops, 'Mean', g, [last], true);
    const meanGx = reduce(ops, 'Mean', ops.one('Mul', [g, normalized]), [last], true);
    const inner = ops.one('Sub', [ops.one('Sub', [g, meanG]), ops.one('Mul', [normalized, meanGx])]);
    const dx = ops.one('RealDiv', [inner, deviation]);
    return [dx, reduce(ops, 'Sum', ops.one('Mul', [dy, normalized]), leading, false), reduce(ops, 'Sum', dy, leading, false)];
  });

export function registerLayerNormKernels(): void {
  registerTensorflowKernel(LAYER_NORM, layerNormKernel);
  registerTensorflowKernel(LAYER_NORM_GRAD, layerNormGradKernel);
  registerGradientOnce({
    kernelName: LAYER_NORM,
    inputsToSave: ['gamma'],
    outputsToSave: [false, true, true],
    gradFunc: (dy, saved) => {
      const [gamma, normalized, deviation] = saved;
      const [dx, dgamma, dbeta] = tf.engine().runKernel(LAYER_NORM_GRAD, { dy: (dy as tf.Tensor[])[0], normalized, deviation, gamma }) as tf.Tensor[];
      return { x: () => dx, gamma: () => dgamma, beta: () => dbeta };
    },
  });
}

/** Layer normalisation of x over its last axis with scale γ and shift β [last]. Native backend only. */
export function fusedLayerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, epsilon: number): tf.Tensor {
  const [y, normalized, deviation] = tf.engine().runKernel(LAYER_NORM, { x, gamma, beta }, { epsilon }) as tf.Tensor[];
  tf.dispose([normalized, deviation]);
  return y;
}
