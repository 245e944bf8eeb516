import type * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { ClassQueryDecoder } from '../layers/class-query-decoder.ts';
import { defineDecoder } from './decoder.ts';

/** Class queries with attention over the slices; at slice level each slice has its own, conditioned queries. */
export const queryDecoder = defineDecoder({
  name: 'query',
  description: 'one learned query per class cross-attends to the per-slice encoder outputs (masked), optional self-attention among queries, per-class Linear(width -> 1)',
  schema: z
    .object({
      width: z.number().int().positive().default(32),
      heads: z.number().int().positive().default(4),
      layers: z.number().int().min(1).max(8).default(1),
      /** Feed-forward hidden size per block; twice the width when left out. */
      feedforward: z.number().int().positive().optional(),
      dropout: z.number().min(0).max(0.9).default(0.1),
      selfAttention: z.boolean().default(false),
    })
    .refine((config) => config.width % config.heads === 0, { path: ['width'], message: 'width must be a multiple of heads' }),
  create: (config, { rng, classes, name, level }) => ({
    readsSlices: true as const,
    apply: (sequence: tf.SymbolicTensor, mask: tf.SymbolicTensor) =>
      new ClassQueryDecoder({
        name,
        numClasses: classes.length,
        width: config.width,
        heads: config.heads,
        layers: config.layers,
        feedforward: config.feedforward ?? 2 * config.width,
        dropout: config.dropout,
        selfAttention: config.selfAttention,
        level,
        seed: rng.seed(),
      }).apply([sequence, mask]) as tf.SymbolicTensor,
  }),
});
