import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import type { RegistryEntry } from '../../core/registry.ts';
import type { Rng } from '../../core/rng.ts';
import type { ImageShape } from '../backbones/backbone.ts';
import { apply, batchNorm, conv2d, relu } from '../backbones/conv-layers.ts';
import { heNormal } from '../layers/initializers.ts';
import { UpsampleNearest } from '../layers/dense-maps.ts';

/**
 * Per-pixel models: a network [n, H, W, C] → [n, H, W, outputs] run on every slice. `context` neighbours on each
 * side of a slice join it as channels (2.5D input; 0 = the slice alone).
 */
export interface DenseModelContext {
  rng: Rng;
  /** One slice as the model sees it, neighbours' channels included. */
  imageShape: ImageShape;
  outputs: number;
}

export interface DenseNet {
  model: tf.LayersModel;
  /** Neighbouring slices on each side stacked as channels (2.5D). */
  context: number;
}

export type DenseModelEntry<S extends z.ZodObject<z.ZodRawShape>> = RegistryEntry<S, DenseModelContext, DenseNet>;

export const unetOptionsSchema = z.object({
  /** Down-sampling steps (2×2 max pools); H and W must be divisible by 2^depth. */
  depth: z.number().int().min(1).max(6).default(3),
  /** Filters of the first level; each level down doubles them. */
  baseWidth: z.number().int().positive().default(16),
  convsPerBlock: z.number().int().min(1).max(3).default(2),
  batchNorm: z.boolean().default(true),
  /** `transpose`: a 2×2 stride-2 transposed convolution; `resize`: nearest-neighbour ×2, then a 3×3 convolution. */
  upsample: z.enum(['transpose', 'resize']).default('transpose'),
  /** Concatenate each encoder level's features into the decoder at the same resolution. */
  skips: z.boolean().default(true),
  /** 2.5D input: this many neighbouring slices on each side as extra channels. */
  context: z.number().int().min(0).max(4).default(0),
});

/** `convs` 3×3 convolutions, each (+ batch norm) + ReLU. */
function convBlock(x: tf.SymbolicTensor, name: string, filters: number, config: z.output<typeof unetOptionsSchema>, rng: Rng): tf.SymbolicTensor {
  let y = x;
  for (let c = 1; c <= config.convsPerBlock; c++) {
    if (config.batchNorm) {
      y = apply(conv2d(`${name}_conv${c}`, filters, 3, rng, { useBias: false }), y);
      y = apply(batchNorm(`${name}_bn${c}`), y);
      y = apply(relu(`${name}_relu${c}`), y);
    } else {
      y = apply(conv2d(`${name}_conv${c}`, filters, 3, rng, { activation: 'relu' }), y);
    }
  }
  return y;
}

function upsample(x: tf.SymbolicTensor, name: string, filters: number, config: z.output<typeof unetOptionsSchema>, rng: Rng): tf.SymbolicTensor {
  if (config.upsample === 'transpose') {
    const layer = tf.layers.conv2dTranspose({ name: `${name}_transpose`, filters, kernelSize: 2, strides: 2, padding: 'same', kernelInitializer: heNormal(rng.seed()) });
    return apply(layer, x);
  }
  const resized = apply(new UpsampleNearest({ name: `${name}_resize`, factor: 2 }), x);
  return apply(conv2d(`${name}_upconv`, filters, 3, rng, { activation: 'relu' }), resized);
}

export const unet: DenseModelEntry<typeof unetOptionsSchema> = {
  name: 'unet',
  description: 'U-Net: depth levels of conv blocks and 2x2 max pools, up-sampling by transposed conv or resize + conv, skip connections; one output channel per map channel',
  schema: unetOptionsSchema,
  create: (config, { rng, imageShape, outputs }) => {
    const step = 2 ** config.depth;
    if (imageShape.height % step !== 0 || imageShape.width % step !== 0) {
      throw new Error(`unet: depth ${config.depth} needs height and width divisible by ${step}, got ${imageShape.height}×${imageShape.width}; resize the slices or lower depth`);
    }
    const input = tf.input({ shape: [imageShape.height, imageShape.width, imageShape.channels], name: 'slice' });
    const skips: tf.SymbolicTensor[] = [];
    let x = input;
    for (let level = 0; level < config.depth; level++) {
      x = convBlock(x, `down${level + 1}`, config.baseWidth * 2 ** level, config, rng);
      skips.push(x);
      x = apply(tf.layers.maxPooling2d({ name: `down${level + 1}_pool`, poolSize: 2, strides: 2 }), x);
    }
    x = convBlock(x, 'bottom', config.baseWidth * 2 ** config.depth, config, rng);
    for (let level = config.depth - 1; level >= 0; level--) {
      const filters = config.baseWidth * 2 ** level;
      x = upsample(x, `up${level + 1}`, filters, config, rng);
      if (config.skips) x = apply(tf.layers.concatenate({ name: `up${level + 1}_skip`, axis: -1 }), [x, skips[level]]);
      x = convBlock(x, `up${level + 1}`, filters, config, rng);
    }
    const head = tf.layers.conv2d({ name: 'maps', filters: outputs, kernelSize: 1, kernelInitializer: heNormal(rng.seed()) });
    return { model: tf.model({ inputs: input, outputs: apply(head, x), name: 'unet' }), context: config.context };
  },
};
