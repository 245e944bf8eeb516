import { z } from 'zod';
import { mapChannelsWithSharp } from './sharp-channels.ts';
import { deterministic, transforms } from './transform.ts';
import { resizeNearest } from './warp.ts';
import type { Slice } from '../types.ts';

const kernels = ['nearest', 'linear', 'cubic', 'mitchell', 'lanczos2', 'lanczos3'] as const;

/** `size` is one number (square) or [rows, cols]. */
export const sizeSchema = z.union([
  z.number().int().positive(),
  z.tuple([z.number().int().positive(), z.number().int().positive()]),
]);

/** Resizes every channel to rows × cols with sharp (aspect ratio not kept: slices of a series share a grid). */
transforms.register({
  name: 'resize',
  description: 'resize to size (number or [rows, cols]; default 224) with sharp; kernel nearest|linear|cubic|mitchell|lanczos2|lanczos3',
  schema: z.object({
    size: sizeSchema.default(224),
    kernel: z.enum(kernels).default('linear'),
  }),
  create: ({ size, kernel }) => {
    const [rows, cols] = typeof size === 'number' ? [size, size] : size;
    const transform = deterministic('resize', async (slice) => {
      if (slice.rows === rows && slice.cols === cols) return slice;
      return mapChannelsWithSharp(slice, 16, 'resize', (image) => image.resize(cols, rows, { fit: 'fill', kernel }));
    });
    return { ...transform, moveMask: (mask: Slice) => resizeNearest(mask, rows, cols) };
  },
});
