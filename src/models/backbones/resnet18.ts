import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import type { Rng } from '../../core/rng.ts';
import { commonBackboneOptions, defineBackbone, finishBackbone, imageInput, scaledWidth, widthMultiplierOption } from './backbone.ts';
import { apply, batchNorm, conv2d, relu } from './conv-layers.ts';

/** conv3×3-BN-ReLU-conv3×3-BN plus the shortcut (a strided 1×1 conv + BN when the shape changes), then ReLU. */
function basicBlock(input: tf.SymbolicTensor, filters: number, strides: number, name: string, rng: Rng): tf.SymbolicTensor {
  let x = apply(conv2d(`${name}_conv1`, filters, 3, rng, { strides, useBias: false }), input);
  x = apply(batchNorm(`${name}_bn1`), x);
  x = apply(relu(`${name}_relu1`), x);
  x = apply(conv2d(`${name}_conv2`, filters, 3, rng, { useBias: false }), x);
  x = apply(batchNorm(`${name}_bn2`), x);
  let shortcut = input;
  if (strides !== 1 || input.shape[3] !== filters) {
    shortcut = apply(conv2d(`${name}_down_conv`, filters, 1, rng, { strides, useBias: false }), input);
    shortcut = apply(batchNorm(`${name}_down_bn`), shortcut);
  }
  return apply(relu(`${name}_out`), apply(tf.layers.add({ name: `${name}_add` }), [x, shortcut]));
}

/** ResNet-18: a stem, four stages of two basic blocks (64/128/256/512 channels), global average pooled. */
export const resnet18Backbone = defineBackbone({
  name: 'resnet18',
  description: 'ResNet-18 (basic blocks, 2-2-2-2), global average pooled',
  schema: z.object({
    widthMultiplier: widthMultiplierOption,
    /** `imagenet`: 7×7/2 conv + 3×3/2 max pool (for ≥ 128 px); `compact`: one 3×3/1 conv, for small slices. */
    stem: z.enum(['imagenet', 'compact']).default('imagenet'),
    ...commonBackboneOptions,
  }),
  create: (config, { rng, imageShape }) => {
    const width = (channels: number) => scaledWidth(channels, config.widthMultiplier);
    const input = imageInput(imageShape);
    let x: tf.SymbolicTensor;
    if (config.stem === 'imagenet') {
      x = apply(conv2d('stem_conv', width(64), 7, rng, { strides: 2, useBias: false }), input);
      x = apply(relu('stem_relu'), apply(batchNorm('stem_bn'), x));
      x = apply(tf.layers.maxPooling2d({ name: 'stem_pool', poolSize: 3, strides: 2, padding: 'same' }), x);
    } else {
      x = apply(conv2d('stem_conv', width(64), 3, rng, { useBias: false }), input);
      x = apply(relu('stem_relu'), apply(batchNorm('stem_bn'), x));
    }
    [64, 128, 256, 512].forEach((filters, stage) => {
      for (let block = 0; block < 2; block++) {
        const strides = stage > 0 && block === 0 ? 2 : 1;
        x = basicBlock(x, width(filters), strides, `stage${stage + 1}_block${block + 1}`, rng);
      }
    });
    return finishBackbone(input, x, config);
  },
});
