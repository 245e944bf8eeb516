import type * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { seededDense } from '../layers/dense.ts';
import { defineDecoder } from './decoder.ts';

/** The baseline: one linear layer, each class scored independently. */
export const denseDecoder = defineDecoder({
  name: 'dense',
  description: 'plain linear head: Linear(features -> classes)',
  schema: z.object({}),
  create: (_config, { rng, classes, name }) => (features) => seededDense(name, classes.length, rng.seed()).apply(features) as tf.SymbolicTensor,
});
