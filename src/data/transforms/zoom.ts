import { z } from 'zod';
import { transforms, type SliceTransform } from './transform.ts';
import { warpSlice } from './warp.ts';

export interface ZoomParams {
  scale: number;
}

/** Random zoom about the centre (scale > 1 enlarges), same output size; `fill` where zooming out uncovers. */
transforms.register({
  name: 'zoom',
  description: 'random zoom about the centre: scale uniform in [min, max] with probability (>1 enlarges); fill outside',
  schema: z
    .object({
      min: z.number().positive().default(0.9),
      max: z.number().positive().default(1.1),
      probability: z.number().min(0).max(1).default(1),
      fill: z.number().default(0),
    })
    .refine((config) => config.min <= config.max, { message: 'min must not exceed max', path: ['min'] }),
  create: ({ min, max, probability, fill }): SliceTransform<ZoomParams> => ({
    name: 'zoom',
    random: true,
    sample: (rng) => {
      const apply = rng.bernoulli(probability);
      const scale = rng.uniform(min, max);
      return { scale: apply ? scale : 1 };
    },
    apply: async (slice, params) => warpSlice(slice, { degrees: 0, scale: params.scale, fill }),
    moveMask: (mask, params, maskFill) => warpSlice(mask, { degrees: 0, scale: params.scale, fill: maskFill, nearest: true }),
  }),
});
