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

/** Options every backbone accepts. */
export const commonBackboneOptions = {
  /** Fix the backbone's weights (trainable = false, batch norms in inference mode), e.g. around pretrained weights. */
  freeze: z.boolean().default(false),
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
export function finishBackbone(input: tf.SymbolicTensor, featureMap: tf.SymbolicTensor, options: { freeze: boolean }): Backbone {
  const features = tf.layers.globalAveragePooling2d({ name: 'global_pool' }).apply(featureMap) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: features, name: 'backbone' });
  if (options.freeze) freeze(model);
  return { model, featureSize: features.shape[1] as number };
}

/**
 * No weight updates, and inference mode for every batch normalisation inside (as Keras does for a non-trainable
 * layer): tfjs would otherwise normalise with batch statistics and keep moving its averages while training.
 */
function freeze(model: tf.LayersModel): void {
  model.trainable = false;
  const visit = (layers: readonly tf.layers.Layer[]) => {
    for (const layer of layers) {
      if (layer.getClassName() === 'BatchNormalization') {
        const call = layer.call.bind(layer);
        layer.call = (inputs, kwargs) => call(inputs, { ...kwargs, training: false });
      }
      const nested = (layer as unknown as { layers?: tf.layers.Layer[] }).layers;
      if (nested) visit(nested);
    }
  };
  visit(model.layers);
}
