import { z } from 'zod';
import { commonBackboneOptions, defineBackbone, finishBackbone, imageInput } from './backbone.ts';
import { vggStages } from './conv-layers.ts';

/** A VGG-style CNN small enough to train on a CPU: a few stages of 3×3 convs + ReLU + max pool, global average pooled. */
export const smallVggBackbone = defineBackbone({
  name: 'small-vgg',
  description: 'VGG-style CNN for CPU training: stages of 3x3 conv + ReLU (+ batch norm) + 2x2 max pool, global average pooled',
  schema: z.object({
    channels: z.array(z.number().int().positive()).min(1).default([16, 32, 64]),
    convsPerBlock: z.number().int().min(1).max(4).default(2),
    batchNorm: z.boolean().default(false),
    ...commonBackboneOptions,
  }),
  create: (config, { rng, imageShape }) => {
    const input = imageInput(imageShape);
    const stages = config.channels.map((filters) => ({ filters, convs: config.convsPerBlock }));
    return finishBackbone(input, vggStages(input, stages, { rng, batchNorm: config.batchNorm }), config);
  },
});
