import * as tf from '@tensorflow/tfjs';
import { FLAT_RMSPROP, type FlatRmspropAttrs } from '../backend/flat-rmsprop.ts';
import { withFlatStep, type Slot } from './flat-slots.ts';

/** tfjs's RMSPropOptimizer fields the flat step reads (TypeScript-protected there). */
interface RmspropFields {
  accumulatedMeanSquares: Slot[];
  accumulatedMoments: Slot[];
  centered: boolean;
  learningRate: number;
  decay: number;
  momentum: number;
  epsilon: number;
}

const fields = (optimizer: tf.RMSPropOptimizer) => optimizer as unknown as RmspropFields;

/**
 * tfjs's RMSProp, with the whole step as one kernel on the native backend (src/backend/flat-rmsprop.ts: bitwise the
 * same numbers; not centered — a centered one keeps tfjs's step) and tfjs's per-variable step elsewhere or with
 * SLICESEQ_FUSED=0. Checkpoints keep tfjs's per-variable `<name>/rms` and `<name>/momentum` (flat-slots.ts).
 */
export const FlatRMSPropOptimizer = withFlatStep(tf.RMSPropOptimizer, {
  kernel: FLAT_RMSPROP,
  applies: (o) => !fields(o).centered,
  slots: [
    { input: 'meanSquare', suffix: 'rms' },
    { input: 'moments', suffix: 'momentum' },
  ],
  getSlots: (o) => [fields(o).accumulatedMeanSquares, fields(o).accumulatedMoments],
  setSlots: (o, [meanSquares, moments]) => {
    fields(o).accumulatedMeanSquares = meanSquares;
    fields(o).accumulatedMoments = moments;
  },
  inputs: () => ({}),
  attrs: (o, count): FlatRmspropAttrs => ({ count, learningRate: fields(o).learningRate, decay: fields(o).decay, momentum: fields(o).momentum, epsilon: fields(o).epsilon }),
  extraOutputs: 0,
  takeOutputs: () => {},
});
