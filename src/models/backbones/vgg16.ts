import { z } from 'zod';
import { commonBackboneOptions, defineBackbone, finishBackbone, imageInput, scaledWidth, widthMultiplierOption } from './backbone.ts';
import { vggStages } from './conv-layers.ts';
import { loadConvWeights } from './pretrained.ts';

const vgg16Stages = [
  { filters: 64, convs: 2 },
  { filters: 128, convs: 2 },
  { filters: 256, convs: 3 },
  { filters: 512, convs: 3 },
  { filters: 512, convs: 3 },
];

/** VGG16's 13 convolutions (the reference design's CNN), global average pooled to 512 features. */
export const vgg16Backbone = defineBackbone({
  name: 'vgg16',
  description: "VGG16 convolutional stages (Keras layer names), global average pooled; random init or weights from a local tfjs Layers model directory",
  schema: z.object({
    /** Scales every stage's channels (1 = the real VGG16; smaller for tests and CPU runs). */
    widthMultiplier: widthMultiplierOption,
    batchNorm: z.boolean().default(false),
    /** A tfjs Layers model directory (model.json + weights) whose 13 Conv2D layers are copied in order. */
    weights: z.string().min(1).optional(),
    ...commonBackboneOptions,
  }),
  create: (config, { rng, imageShape }) => {
    const input = imageInput(imageShape);
    const stages = vgg16Stages.map(({ filters, convs }) => ({ filters: scaledWidth(filters, config.widthMultiplier), convs }));
    const backbone = finishBackbone(input, vggStages(input, stages, { rng, batchNorm: config.batchNorm }), config);
    if (config.weights) loadConvWeights(backbone.model, config.weights, "backbone 'vgg16'");
    return backbone;
  },
});
