import type * as tf from '@tensorflow/tfjs';
import type { z } from 'zod';
import type { RegistryEntry } from '../../core/registry.ts';
import type { Rng } from '../../core/rng.ts';

export interface DecoderContext {
  rng: Rng;
  /** The classes scored, in order: one score (logit) each. */
  classes: string[];
  /** Prefix of the decoder's layer names (unique within the model). */
  name: string;
}

/** A label decoder: features [n, features] → one logit per class [n, classes]. */
export type LabelDecoderFactory = (features: tf.SymbolicTensor) => tf.SymbolicTensor;

export type DecoderEntry<S extends z.ZodObject<z.ZodRawShape>> = RegistryEntry<S, DecoderContext, LabelDecoderFactory>;

export function defineDecoder<S extends z.ZodObject<z.ZodRawShape>>(entry: DecoderEntry<S>): DecoderEntry<S> {
  return entry;
}
