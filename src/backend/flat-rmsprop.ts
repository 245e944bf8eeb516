import * as tf from '@tensorflow/tfjs';
import { flatInputs, ownOpStep, stitch, unstitch } from './flat-update.ts';
import { TfOps, registerTensorflowKernel } from './tf-ops.ts';

/**
 * One RMSProp step (not centered) over every variable at once, as one kernel on the native backend (gathered and
 * split back as in flat-update.ts), tfjs's RMSPropOptimizer arithmetic once on the flat vectors, operation for
 * operation (so bitwise the per-variable result):
 *   s ← s·ρ + g²·(1 − ρ);  a ← a·μ + (g·lr) / √(s + ε);  x ← x − a.
 * Inputs: `meanSquare`, `moments` (flat) and per variable k `g<k>`, `x<k>`, `i<k>`. Outputs: [meanSquare, moments,
 * x0, x1, …]. The per-variable twin is tfjs's RMSPropOptimizer (src/train/flat-rmsprop.ts chooses). Where sliceseq's
 * TensorFlow ops are loaded the step is one op of ours, `SliceseqRMSProp` (native/tf-ops/flat_optimizers.cc: the same
 * operations, bitwise, without the gathering and splitting).
 */
export const FLAT_RMSPROP = 'SliceseqFlatRMSProp';

export interface FlatRmspropAttrs {
  count: number;
  learningRate: number;
  decay: number;
  momentum: number;
  epsilon: number;
}

const flatRmspropKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const ops = TfOps.of(backend);
  const { count, learningRate, decay, momentum, epsilon } = attrs as unknown as FlatRmspropAttrs;
  const flat = flatInputs(inputs, count);
  const { t } = flat;
  const own = ownOpStep(ops, 'SliceseqRMSProp', flat, [t.meanSquare, t.moments], [decay, 1 - decay, momentum, learningRate, epsilon], 2);
  if (own) return own;
  const scalars = [decay, 1 - decay, momentum, learningRate, epsilon].map((value) => tf.scalar(value));
  const [rho, oneMinusRho, mu, lr, eps] = scalars;
  const temporaries: tf.Tensor[] = [...scalars];
  const keep = <T extends tf.Tensor>(x: T) => (temporaries.push(x), x);
  try {
    const g = keep(stitch(ops, flat, 'g'));
    const x = keep(stitch(ops, flat, 'x'));
    const meanSquare = ops.one('AddV2', [keep(ops.one('Mul', [t.meanSquare, rho])), keep(ops.one('Mul', [keep(ops.one('Square', [g])), oneMinusRho]))]);
    const step = keep(ops.one('RealDiv', [keep(ops.one('Mul', [g, lr])), keep(ops.one('Sqrt', [keep(ops.one('AddV2', [meanSquare, eps]))]))]));
    const moments = ops.one('AddV2', [keep(ops.one('Mul', [t.moments, mu])), step]);
    return [meanSquare, moments, ...unstitch(ops, flat, keep(ops.one('Sub', [x, moments])), keep)];
  } finally {
    tf.dispose(temporaries);
  }
};

export function registerFlatRmspropKernel(): void {
  registerTensorflowKernel(FLAT_RMSPROP, flatRmspropKernel);
}
