import * as tf from '@tensorflow/tfjs';
import { FLAT_ADAM, type FlatAdamAttrs } from '../backend/flat-adam.ts';
import { withFlatStep, type Slot } from './flat-slots.ts';

/** tfjs's AdamOptimizer fields the flat step reads (TypeScript-protected there). */
interface AdamFields {
  accumulatedFirstMoment: Slot[];
  accumulatedSecondMoment: Slot[];
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

const fields = (optimizer: tf.AdamOptimizer) => optimizer as unknown as AdamFields;

/**
 * tfjs's Adam, with the whole step as one kernel on the native backend (src/backend/flat-adam.ts: bitwise the
 * same numbers) and tfjs's per-variable step elsewhere or with SLICESEQ_FUSED=0. On the native backend the moments
 * live in two flat vectors between steps (flat-slots.ts); `getWeights`, `setWeights` and `dispose` see tfjs's
 * per-variable moments (`<name>/m`, `<name>/v`, in variable order) as before, so checkpoints keep their format.
 */
export const FlatAdamOptimizer = withFlatStep(tf.AdamOptimizer, {
  kernel: FLAT_ADAM,
  slots: [
    { input: 'm', suffix: 'm' },
    { input: 'v', suffix: 'v' },
  ],
  getSlots: (o) => [fields(o).accumulatedFirstMoment, fields(o).accumulatedSecondMoment],
  setSlots: (o, [m, v]) => {
    fields(o).accumulatedFirstMoment = m;
    fields(o).accumulatedSecondMoment = v;
  },
  inputs: (o) => ({ accBeta1: fields(o).accBeta1, accBeta2: fields(o).accBeta2 }),
  attrs: (o, count): FlatAdamAttrs => ({ count, learningRate: fields(o).learningRate, beta1: fields(o).beta1, beta2: fields(o).beta2, epsilon: fields(o).epsilon }),
  extraOutputs: 2,
  takeOutputs: (o, [accBeta1, accBeta2]) => {
    fields(o).accBeta1.assign(accBeta1);
    fields(o).accBeta2.assign(accBeta2);
    tf.dispose([accBeta1, accBeta2]);
  },
});
