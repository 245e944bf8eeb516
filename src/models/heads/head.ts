import type * as tf from '@tensorflow/tfjs';
import type { z } from 'zod';
import type { RegistryEntry } from '../../core/registry.ts';
import type { Rng } from '../../core/rng.ts';
import type { LabelGroup } from '../../labels/schema.ts';
import type { SliceDecoder } from '../decoders/decoder.ts';
import type { OutputLevel } from '../encoders/encoder.ts';

export interface HeadContext {
  /** The label group this head predicts; the head's registry name is the group's kind. */
  group: LabelGroup;
  rng: Rng;
  /** The model's label decoder config (`{ name, ...options }`), used by heads that score classes through it. */
  decoder: { name: string } & Record<string, unknown>;
  /** Whether the model scores each patient or each slice. */
  level: OutputLevel;
}

/**
 * A head: features [n, features] → the group's logits [n, outputWidth(group)], in the group's output layout; or,
 * for a binary group whose label decoder reads the slices, that decoder (see SliceDecoder).
 */
export type Head = ((features: tf.SymbolicTensor) => tf.SymbolicTensor) | SliceDecoder;

export type HeadEntry<S extends z.ZodObject<z.ZodRawShape>> = RegistryEntry<S, HeadContext, Head>;

export function defineHead<S extends z.ZodObject<z.ZodRawShape>>(entry: HeadEntry<S>): HeadEntry<S> {
  return entry;
}

/** Layer-name prefix of a group's head. */
export function headName(group: LabelGroup): string {
  return `head_${group.name}`;
}

/** The trainable weights of a model's label heads (layers named by headName), or of its last layer that has weights (a dense model). */
export function headWeights(model: tf.LayersModel): tf.LayerVariable[] {
  const heads = model.layers.filter((layer) => layer.name.startsWith('head_')).flatMap((layer) => layer.trainableWeights);
  if (heads.length > 0) return heads;
  return model.layers.findLast((layer) => layer.trainableWeights.length > 0)?.trainableWeights ?? [];
}
