import * as tf from '@tensorflow/tfjs';
import { flatInputs, ownOpStep, stitch, unstitch } from './flat-update.ts';
import { TfOps, registerTensorflowKernel } from './tf-ops.ts';

/**
 * One SGD-with-momentum step over every variable at once, as one kernel on the native backend (gathered and split
 * back as in flat-update.ts), tfjs's MomentumOptimizer arithmetic once on the flat vectors, operation for operation
 * (so bitwise the per-variable result), with c = −lr:
 *   a ← m·a + g;  x ← c·a + x,  or with Nesterov  x ← c·(g + a·m) + x.
 * Inputs: `accumulation` (flat) and per variable k `g<k>`, `x<k>`, `i<k>`. Outputs: [accumulation, x0, x1, …]. The
 * per-variable twin is tfjs's MomentumOptimizer (src/train/flat-momentum.ts chooses). Where sliceseq's TensorFlow ops
 * are loaded the step is one op of ours, `SliceseqMomentum` (native/tf-ops/flat_optimizers.cc: the same operations,
 * bitwise, without the gathering and splitting).
 */
export const FLAT_MOMENTUM = 'SliceseqFlatMomentum';

export interface FlatMomentumAttrs {
  count: number;
  learningRate: number;
  momentum: number;
  nesterov: boolean;
}

const flatMomentumKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const ops = TfOps.of(backend);
  const { count, learningRate, momentum, nesterov } = attrs as unknown as FlatMomentumAttrs;
  const flat = flatInputs(inputs, count);
  const own = ownOpStep(ops, 'SliceseqMomentum', flat, [flat.t.accumulation], [momentum, -learningRate], 1, [ops.bool('nesterov', nesterov)]);
  if (own) return own;
  const [m, c] = [tf.scalar(momentum), tf.scalar(-learningRate)];
  const temporaries: tf.Tensor[] = [m, c];
  const keep = <T extends tf.Tensor>(x: T) => (temporaries.push(x), x);
  try {
    const g = keep(stitch(ops, flat, 'g'));
    const x = keep(stitch(ops, flat, 'x'));
    const accumulation = ops.one('AddV2', [keep(ops.one('Mul', [m, flat.t.accumulation])), g]);
    const direction = nesterov ? keep(ops.one('AddV2', [g, keep(ops.one('Mul', [accumulation, m]))])) : accumulation;
    const updated = keep(ops.one('AddV2', [keep(ops.one('Mul', [c, direction])), x]));
    return [accumulation, ...unstitch(ops, flat, updated, keep)];
  } finally {
    tf.dispose(temporaries);
  }
};

export function registerFlatMomentumKernel(): void {
  registerTensorflowKernel(FLAT_MOMENTUM, flatMomentumKernel);
}
