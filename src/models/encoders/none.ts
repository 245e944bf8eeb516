import { z } from 'zod';
import { MaskedPooling } from '../layers/masked-pooling.ts';
import { defineEncoder } from './encoder.ts';

/** No sequence model: a patient is the masked mean or max of its slices; a slice is predicted on its own. */
export const noneEncoder = defineEncoder({
  name: 'none',
  description: 'no slice context: masked mean/max pooling per patient, or each slice alone',
  schema: z.object({ pooling: z.enum(['mean', 'max']).default('mean') }),
  create: (config, { level }) => (sequence, mask) =>
    level === 'slice' ? sequence : (new MaskedPooling({ name: 'encoder_pool', mode: config.pooling }).apply([sequence, mask]) as typeof sequence),
});
