import type * as tf from '@tensorflow/tfjs';
import type { z } from 'zod';
import type { RegistryEntry } from '../../core/registry.ts';
import type { Rng } from '../../core/rng.ts';
import type { OutputLevel } from '../encoders/encoder.ts';

export interface DecoderContext {
  rng: Rng;
  /** The classes scored, in order: one score (logit) each. */
  classes: string[];
  /** Prefix of the decoder's layer names (unique within the model). */
  name: string;
  /** Whether the model scores each patient or each slice. */
  level: OutputLevel;
}

/** A label decoder that reads one feature row per output: features [n, features] → one logit per class [n, classes]. */
export type LabelDecoderFactory = (features: tf.SymbolicTensor) => tf.SymbolicTensor;

/**
 * A label decoder that reads a patient's slices: (the slice encoder's per-slice outputs [batch, slices, features],
 * mask [batch, slices]) → [batch, classes] at patient level, [batch, slices, classes] at slice level (zeros at
 * padded slices). The model then runs its slice encoder at slice level whatever the label level.
 */
export interface SliceDecoder {
  readsSlices: true;
  apply(sequence: tf.SymbolicTensor, mask: tf.SymbolicTensor): tf.SymbolicTensor;
}

export type Decoder = LabelDecoderFactory | SliceDecoder;

export function readsSlices(decoder: Decoder): decoder is SliceDecoder {
  return typeof decoder !== 'function' && decoder.readsSlices;
}

export type DecoderEntry<S extends z.ZodObject<z.ZodRawShape>> = RegistryEntry<S, DecoderContext, Decoder>;

export function defineDecoder<S extends z.ZodObject<z.ZodRawShape>>(entry: DecoderEntry<S>): DecoderEntry<S> {
  return entry;
}
