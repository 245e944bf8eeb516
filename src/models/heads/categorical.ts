import type * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { seededDense } from '../layers/dense.ts';
import { defineHead, headName } from './head.ts';

/** A categorical group: its own neck Dense(group.neck, SiLU), then one softmax logit per class. */
export const categoricalHead = defineHead({
  name: 'categorical',
  description: "softmax logits over the group's classes, through the group's own Dense(neck, SiLU) neck",
  schema: z.object({}),
  create: (_config, { group, rng }) => {
    if (group.kind !== 'categorical') throw new Error(`head 'categorical' given a ${group.kind} group '${group.name}'`);
    const name = headName(group);
    return (features) => {
      const neck = seededDense(`${name}_neck`, group.neck, rng.seed(), 'swish').apply(features);
      return seededDense(`${name}_logits`, group.classes.length, rng.seed()).apply(neck) as tf.SymbolicTensor;
    };
  },
});
