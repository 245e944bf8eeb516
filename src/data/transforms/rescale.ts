import { z } from 'zod';
import { deterministic, transforms, withData } from './transform.ts';

/** Linear rescaling of every channel: low → 0, high → 1 (e.g. 8-bit colour images, which windowing does not take). */
transforms.register({
  name: 'rescale',
  description: 'every channel linearly: low → 0, high → 1 (default 0 and 255: 8-bit images to 0..1), no clipping',
  schema: z
    .object({ low: z.number().default(0), high: z.number().default(255) })
    .refine((config) => config.high !== config.low, { message: 'high must differ from low', path: ['high'] }),
  create: ({ low, high }) =>
    deterministic('rescale', async (slice) => withData(slice, Float32Array.from(slice.data, (value) => (value - low) / (high - low)))),
});
