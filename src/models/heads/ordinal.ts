import type * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { outputWidth } from '../../labels/schema.ts';
import { seededDense } from '../layers/dense.ts';
import { defineHead, headName } from './head.ts';

/**
 * An ordinal group: a Dense(neck, SiLU) neck, then per class either one regression value (graded by the group's
 * thresholds) or levels-1 cumulative logits (logit k: grade > k), as the group's `mode` says.
 */
export const ordinalHead = defineHead({
  name: 'ordinal',
  description: 'per class one regression value or (levels-1) cumulative logits, through a Dense(neck, SiLU) neck',
  schema: z.object({ neck: z.number().int().positive().default(32) }),
  create: (config, { group, rng }) => {
    if (group.kind !== 'ordinal') throw new Error(`head 'ordinal' given a ${group.kind} group '${group.name}'`);
    const name = headName(group);
    return (features) => {
      const neck = seededDense(`${name}_neck`, config.neck, rng.seed(), 'swish').apply(features);
      return seededDense(`${name}_${group.mode}`, outputWidth(group), rng.seed()).apply(neck) as tf.SymbolicTensor;
    };
  },
});
