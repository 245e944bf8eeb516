import type * as tf from '@tensorflow/tfjs';
import type { z } from 'zod';
import type { RegistryEntry } from '../../core/registry.ts';
import type { Rng } from '../../core/rng.ts';

/** Whether labels belong to the patient (one output row each) or to every slice (one row per slice). */
export const outputLevels = ['patient', 'slice'] as const;
export type OutputLevel = (typeof outputLevels)[number];

export interface EncoderContext {
  rng: Rng;
  level: OutputLevel;
}

/**
 * A slice encoder: ([batch, slices, features], mask [batch, slices]) → [batch, features'] for patient-level
 * labels, or [batch, slices, features'] (each slice with its neighbours' context) for slice-level labels.
 * Padded slices never change the outputs of real slices or the patient vector.
 */
export type SliceEncoder = (sequence: tf.SymbolicTensor, mask: tf.SymbolicTensor) => tf.SymbolicTensor;

export type EncoderEntry<S extends z.ZodObject<z.ZodRawShape>> = RegistryEntry<S, EncoderContext, SliceEncoder>;

export function defineEncoder<S extends z.ZodObject<z.ZodRawShape>>(entry: EncoderEntry<S>): EncoderEntry<S> {
  return entry;
}
