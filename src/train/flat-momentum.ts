import * as tf from '@tensorflow/tfjs';
import { FLAT_MOMENTUM, type FlatMomentumAttrs } from '../backend/flat-momentum.ts';
import { withFlatStep, type Slot } from './flat-slots.ts';

/** tfjs's MomentumOptimizer fields the flat step reads (TypeScript-protected there). */
interface MomentumFields {
  accumulations: Slot[];
  learningRate: number;
  momentum: number;
  useNesterov: boolean;
}

const fields = (optimizer: tf.MomentumOptimizer) => optimizer as unknown as MomentumFields;

/**
 * tfjs's SGD with momentum, with the whole step as one kernel on the native backend (src/backend/flat-momentum.ts:
 * bitwise the same numbers) and tfjs's per-variable step elsewhere or with SLICESEQ_FUSED=0. The accumulations live
 * in one flat vector between steps (flat-slots.ts); `getWeights`, `setWeights` and `dispose` see tfjs's
 * per-variable `<name>/momentum` as before, so checkpoints keep their format.
 */
export const FlatMomentumOptimizer = withFlatStep(tf.MomentumOptimizer, {
  kernel: FLAT_MOMENTUM,
  slots: [{ input: 'accumulation', suffix: 'momentum' }],
  getSlots: (o) => [fields(o).accumulations ?? []],
  setSlots: (o, [accumulations]) => {
    fields(o).accumulations = accumulations;
  },
  inputs: () => ({}),
  attrs: (o, count): FlatMomentumAttrs => ({ count, learningRate: fields(o).learningRate, momentum: fields(o).momentum, nesterov: fields(o).useNesterov }),
  extraOutputs: 0,
  takeOutputs: () => {},
});
