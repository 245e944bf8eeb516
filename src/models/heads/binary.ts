import { z } from 'zod';
import { decoders } from '../decoders/index.ts';
import { defineHead, headName } from './head.ts';

/** Binary labels: one logit per class, emitted by the label decoder whose steps are the group's classes in order. */
export const binaryHead = defineHead({
  name: 'binary',
  description: 'one logit per class through the label decoder (its class steps are the classes in order)',
  schema: z.object({}),
  create: (_config, { group, rng, decoder, level }) => decoders.create(decoder, { rng, classes: group.classes, name: `${headName(group)}_decoder`, level }, 'model config decoder'),
});
