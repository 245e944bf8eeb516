import * as tf from '@tensorflow/tfjs';
import { flatInputs, ownOpStep, stitch, unstitch } from './flat-update.ts';
import { TfOps, registerTensorflowKernel } from './tf-ops.ts';

/**
 * One Adam step over every variable at once, as one kernel on the native backend: `DynamicStitch` gathers the
 * gradients and the variables into flat vectors (each variable's `indices` tensor holds its positions there), tfjs's
 * own Adam arithmetic runs once on them, operation for operation (so the result is bitwise the per-variable one):
 *   m ← m·β1 + g·(1 − β1),  v ← v·β2 + g²·(1 − β2),
 *   x ← (m / (1 − β1ᵗ)) / (√(v / (1 − β2ᵗ)) + ε) · (−lr) + x,  β1ᵗ ← β1ᵗ·β1,  β2ᵗ ← β2ᵗ·β2,
 * and `SplitV` + `Reshape` give each variable its new value back. The per-variable twin is tfjs's AdamOptimizer
 * (src/train/flat-adam.ts chooses). Where sliceseq's TensorFlow ops are loaded (sliceseq-ops.ts), the whole step is
 * one op of ours, `SliceseqAdam` (native/tf-ops/flat_optimizers.cc): the same float32 operations in the same order on each
 * variable's elements in place of the stitching and splitting (bitwise the same numbers, one TF op instead of
 * about 50).
 *
 * Inputs: m, v (flat moments), accBeta1, accBeta2 (scalars), and per variable k: `g<k>`, `x<k>`, `i<k>` (int32
 * positions, the variable's shape). Outputs: [m, v, accBeta1, accBeta2, x0, x1, …].
 */
export const FLAT_ADAM = 'SliceseqFlatAdam';

export interface FlatAdamAttrs {
  count: number;
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

const flatAdamKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const ops = TfOps.of(backend);
  const { count, learningRate, beta1, beta2, epsilon } = attrs as unknown as FlatAdamAttrs;
  const flat = flatInputs(inputs, count);
  const { t } = flat;
  const own = ownOpStep(ops, 'SliceseqAdam', flat, [t.m, t.v, t.accBeta1, t.accBeta2], [beta1, 1 - beta1, beta2, 1 - beta2, epsilon, -learningRate], 4);
  if (own) return own;
  const scalars = [beta1, 1 - beta1, beta2, 1 - beta2, 1, epsilon, -learningRate].map((value) => tf.scalar(value));
  const [b1, oneMinusB1, b2, oneMinusB2, one, eps, minusLr] = scalars;
  const temporaries: tf.Tensor[] = [...scalars];
  const keep = <T extends tf.Tensor>(x: T) => (temporaries.push(x), x);
  try {
    const g = keep(stitch(ops, flat, 'g'));
    const x = keep(stitch(ops, flat, 'x'));
    const m = ops.one('AddV2', [keep(ops.one('Mul', [t.m, b1])), keep(ops.one('Mul', [g, oneMinusB1]))]);
    const v = ops.one('AddV2', [keep(ops.one('Mul', [t.v, b2])), keep(ops.one('Mul', [keep(ops.one('Square', [g])), oneMinusB2]))]);
    const correctedM = keep(ops.one('RealDiv', [m, keep(ops.one('Sub', [one, t.accBeta1]))]));
    const correctedV = keep(ops.one('RealDiv', [v, keep(ops.one('Sub', [one, t.accBeta2]))]));
    const denominator = keep(ops.one('AddV2', [keep(ops.one('Sqrt', [correctedV])), eps]));
    const step = keep(ops.one('Mul', [keep(ops.one('RealDiv', [correctedM, denominator])), minusLr]));
    const values = unstitch(ops, flat, keep(ops.one('AddV2', [step, x])), keep);
    return [m, v, ops.one('Mul', [t.accBeta1, b1]), ops.one('Mul', [t.accBeta2, b2]), ...values];
  } finally {
    tf.dispose(temporaries);
  }
};

export function registerFlatAdamKernel(): void {
  registerTensorflowKernel(FLAT_ADAM, flatAdamKernel);
}
