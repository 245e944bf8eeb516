import { z } from 'zod';
import { transforms, type SliceTransform } from './transform.ts';
import { warpSlice } from './warp.ts';

export interface RotateParams {
  degrees: number;
}

/** Random rotation about the slice centre, angle uniform in [−degrees, degrees], applied with `probability`. */
transforms.register({
  name: 'rotate',
  description: 'random rotation about the centre: angle uniform in [-degrees, degrees] with probability; fill outside',
  schema: z.object({
    degrees: z.number().min(0).max(180).default(15),
    probability: z.number().min(0).max(1).default(1),
    fill: z.number().default(0),
  }),
  create: ({ degrees, probability, fill }): SliceTransform<RotateParams> => ({
    name: 'rotate',
    random: true,
    sample: (rng) => {
      const apply = rng.bernoulli(probability);
      const angle = rng.uniform(-degrees, degrees);
      return { degrees: apply ? angle : 0 };
    },
    apply: async (slice, params) => warpSlice(slice, { degrees: params.degrees, scale: 1, fill }),
    moveMask: (mask, params, maskFill) => warpSlice(mask, { degrees: params.degrees, scale: 1, fill: maskFill, nearest: true }),
  }),
});
