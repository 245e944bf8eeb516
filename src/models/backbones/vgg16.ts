import { z } from 'zod';
import type { LayerMatching } from '../pretrained/mapping.ts';
import { loadPretrained, normalizedInput, pretrainedOptions, resolveNormalization } from '../pretrained/load.ts';
import { commonBackboneOptions, defineBackbone, finishBackbone, imageInput, scaledWidth, widthMultiplierOption } from './backbone.ts';
import { vggStages } from './conv-layers.ts';

const vgg16Stages = [
  { filters: 64, convs: 2 },
  { filters: 128, convs: 2 },
  { filters: 256, convs: 3 },
  { filters: 512, convs: 3 },
  { filters: 512, convs: 3 },
];

/** The n-th convolution takes the file's n-th layer with a kernel (Keras `blockS_convC`, torchvision `features.N`). */
export const vgg16Matching: LayerMatching = { kind: 'conv-order' };

/**
 * VGG16's 13 convolutions (the reference design's CNN), global average pooled to 512 features. Pretrained
 * weights (Keras applications' .h5, a .keras archive, torchvision's `features.N` in safetensors, a tfjs folder)
 * are matched convolution by convolution, in order.
 */
export const vgg16Backbone = defineBackbone({
  name: 'vgg16',
  description: 'VGG16 convolutional stages (Keras layer names), global average pooled; random init or pretrained weights (Keras .h5/.keras, safetensors, tfjs folder)',
  schema: z.object({
    /** Scales every stage's channels (1 = the real VGG16; smaller for tests and CPU runs). */
    widthMultiplier: widthMultiplierOption,
    batchNorm: z.boolean().default(false),
    ...pretrainedOptions,
    ...commonBackboneOptions,
  }),
  create: (config, { rng, imageShape }) => {
    const input = imageInput(imageShape);
    const stages = vgg16Stages.map(({ filters, convs }) => ({ filters: scaledWidth(filters, config.widthMultiplier), convs }));
    const normalized = normalizedInput(input, resolveNormalization(config));
    const backbone = finishBackbone(input, vggStages(normalized, stages, { rng, batchNorm: config.batchNorm }), config);
    if (config.weights) loadPretrained(backbone.model, config.weights, vgg16Matching, "backbone 'vgg16'");
    return backbone;
  },
});
