import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import type { Rng } from '../../core/rng.ts';
import type { LayerMatching } from '../pretrained/mapping.ts';
import { loadPretrained, normalizedInput, pretrainedOptions, resolveNormalization } from '../pretrained/load.ts';
import { commonBackboneOptions, defineBackbone, finishBackbone, imageInput, scaledWidth, widthMultiplierOption } from './backbone.ts';
import { apply, batchNorm, conv2d, relu, zeroPad } from './conv-layers.ts';

/**
 * conv3×3-BN-ReLU-conv3×3-BN plus the shortcut (a strided 1×1 conv + BN when the shape changes), then ReLU. A
 * strided 3×3 conv pads one pixel on every side, as torchvision's does ('same' would pad only the end).
 */
function basicBlock(input: tf.SymbolicTensor, filters: number, strides: number, name: string, rng: Rng): tf.SymbolicTensor {
  let x =
    strides === 1
      ? apply(conv2d(`${name}_conv1`, filters, 3, rng, { useBias: false }), input)
      : apply(conv2d(`${name}_conv1`, filters, 3, rng, { strides, useBias: false, padding: 'valid' }), apply(zeroPad(`${name}_pad`, 1), input));
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

/** Our layer name → torchvision's (and timm's) state-dict module: `stage2_block1_down_bn` → `layer2.0.downsample.1`. */
export function torchvisionResnetName(name: string): string {
  if (name === 'stem_conv') return 'conv1';
  if (name === 'stem_bn') return 'bn1';
  const match = /^stage(\d)_block(\d)_(conv1|bn1|conv2|bn2|down_conv|down_bn)$/.exec(name);
  if (!match) return name;
  const part = { conv1: 'conv1', bn1: 'bn1', conv2: 'conv2', bn2: 'bn2', down_conv: 'downsample.0', down_bn: 'downsample.1' }[match[3]];
  return `layer${match[1]}.${Number(match[2]) - 1}.${part}`;
}

/** By name: ours in tfjs folders, torchvision's/timm's in PyTorch state dicts. */
export const resnet18Matching: LayerMatching = { kind: 'names', torchName: torchvisionResnetName };

/**
 * ResNet-18: a stem, four stages of two basic blocks (64/128/256/512 channels), global average pooled. The
 * ImageNet stem pads like torchvision (3 pixels around the 7×7/2 conv, 1 around the 3×3/2 max pool, floor mode),
 * so torchvision/timm weights (safetensors) give torchvision's features.
 */
export const resnet18Backbone = defineBackbone({
  name: 'resnet18',
  description: 'ResNet-18 (basic blocks, 2-2-2-2), global average pooled; random init or torchvision/timm weights (safetensors) or a tfjs folder',
  schema: z.object({
    widthMultiplier: widthMultiplierOption,
    /** `imagenet`: 7×7/2 conv + 3×3/2 max pool (for ≥ 128 px); `compact`: one 3×3/1 conv, for small slices. */
    stem: z.enum(['imagenet', 'compact']).default('imagenet'),
    ...pretrainedOptions,
    ...commonBackboneOptions,
  }),
  create: (config, { rng, imageShape }) => {
    const width = (channels: number) => scaledWidth(channels, config.widthMultiplier);
    const input = imageInput(imageShape);
    let x = normalizedInput(input, resolveNormalization(config));
    if (config.stem === 'imagenet') {
      x = apply(conv2d('stem_conv', width(64), 7, rng, { strides: 2, useBias: false, padding: 'valid' }), apply(zeroPad('stem_pad', 3), x));
      x = apply(relu('stem_relu'), apply(batchNorm('stem_bn'), x));
      // Zeros pad like PyTorch's -inf here: the ReLU before makes every value ≥ 0.
      x = apply(tf.layers.maxPooling2d({ name: 'stem_pool', poolSize: 3, strides: 2, padding: 'valid' }), apply(zeroPad('stem_pool_pad', 1), x));
    } else {
      x = apply(conv2d('stem_conv', width(64), 3, rng, { useBias: false }), x);
      x = apply(relu('stem_relu'), apply(batchNorm('stem_bn'), x));
    }
    [64, 128, 256, 512].forEach((filters, stage) => {
      for (let block = 0; block < 2; block++) {
        const strides = stage > 0 && block === 0 ? 2 : 1;
        x = basicBlock(x, width(filters), strides, `stage${stage + 1}_block${block + 1}`, rng);
      }
    });
    const backbone = finishBackbone(input, x, config);
    if (config.weights) loadPretrained(backbone.model, config.weights, resnet18Matching, "backbone 'resnet18'");
    return backbone;
  },
});
