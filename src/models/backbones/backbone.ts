import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import type { RegistryEntry } from '../../core/registry.ts';
import type { Rng } from '../../core/rng.ts';

export interface ImageShape {
  height: number;
  width: number;
  channels: number;
}

export interface BackboneContext {
  /** Seeds every initializer of the backbone. */
  rng: Rng;
  /** One slice: [height, width, channels]. */
  imageShape: ImageShape;
}

/** A per-slice network: a model [n, height, width, channels] → [n, featureSize] named `backbone`. */
export interface Backbone {
  model: tf.LayersModel;
  featureSize: number;
}

export type BackboneEntry<S extends z.ZodObject<z.ZodRawShape>> = RegistryEntry<S, BackboneContext, Backbone>;

/** Identity helper so each file's `create` gets its config type inferred from its schema. */
export function defineBackbone<S extends z.ZodObject<z.ZodRawShape>>(entry: BackboneEntry<S>): BackboneEntry<S> {
  return entry;
}

/**
 * Which weights stay fixed (trainable = false, batch norms in inference mode), e.g. around pretrained weights:
 * `true` all, `'stem'` the stem (VGG: block 1), N the stem and the first N stages (VGG: blocks 1..N).
 */
export const freezeOption = z.union([z.boolean(), z.literal('stem'), z.number().int().min(0)]).default(false);
export type FreezeSpec = z.output<typeof freezeOption>;

/** Options every backbone accepts. */
export const commonBackboneOptions = {
  freeze: freezeOption,
};

export const widthMultiplierOption = z.number().positive().max(4).default(1);

/** Channels scaled by a width multiplier, at least one. */
export function scaledWidth(channels: number, multiplier: number): number {
  return Math.max(1, Math.round(channels * multiplier));
}

export function imageInput(shape: ImageShape): tf.SymbolicTensor {
  return tf.input({ shape: [shape.height, shape.width, shape.channels], name: 'slice' });
}

/** Global average pooling to the feature vector, wrapped as the `backbone` model. */
export function finishBackbone(input: tf.SymbolicTensor, featureMap: tf.SymbolicTensor, options: { freeze: FreezeSpec }): Backbone {
  const features = tf.layers.globalAveragePooling2d({ name: 'global_pool' }).apply(featureMap) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: features, name: 'backbone' });
  freeze(model, options.freeze);
  return { model, featureSize: features.shape[1] as number };
}

/** The stage a layer belongs to by its name: `stem_*` 0, `blockN_*` / `stageN_*` N; others none. */
export function layerStage(name: string): number | undefined {
  if (name.startsWith('stem_')) return 0;
  const match = /^(?:block|stage)(\d+)_/.exec(name);
  return match ? Number(match[1]) : undefined;
}

/**
 * No weight updates for the frozen layers, and inference mode for their batch normalisations (as Keras does
 * for a non-trainable layer): tfjs would otherwise normalise with batch statistics and keep moving the averages.
 */
function freeze(model: tf.LayersModel, spec: FreezeSpec): void {
  if (spec === false || spec === 0) return;
  const hasStem = model.layers.some((layer) => layerStage(layer.name) === 0);
  const through = spec === true ? Number.POSITIVE_INFINITY : spec === 'stem' ? (hasStem ? 0 : 1) : spec;
  const frozen = (layer: tf.layers.Layer) => spec === true || (layerStage(layer.name) ?? Number.POSITIVE_INFINITY) <= through;
  if (spec === true) model.trainable = false;
  const visit = (layers: readonly tf.layers.Layer[], all: boolean) => {
    for (const layer of layers) {
      const isFrozen = all || frozen(layer);
      if (isFrozen) layer.trainable = false;
      if (isFrozen && layer.getClassName() === 'BatchNormalization') {
        const call = layer.call.bind(layer);
        layer.call = (inputs, kwargs) => call(inputs, { ...kwargs, training: false });
      }
      const nested = (layer as unknown as { layers?: tf.layers.Layer[] }).layers;
      if (nested) visit(nested, isFrozen);
    }
  };
  visit(model.layers, spec === true);
}
