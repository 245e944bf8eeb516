import { z } from 'zod';
import { mapChannelsWithSharp } from './sharp-channels.ts';
import { deterministic, transforms } from './transform.ts';

/** Default tile: an 8 × 8 grid over the slice (OpenCV's default tileGridSize). */
const DEFAULT_GRID = 8;

/**
 * Contrast-limited adaptive histogram equalisation (libvips hist_local through sharp's `clahe`), per channel on
 * 8-bit data: input values must be in [0, 1] (after windowing); output is 0..1 in steps of 1/255.
 */
transforms.register({
  name: 'clahe',
  description: 'CLAHE per channel (sharp clahe) on [0, 1] data; tile width/height in pixels (default: slice / 8), maxSlope',
  schema: z.object({
    width: z.number().int().positive().optional(),
    height: z.number().int().positive().optional(),
    /** Contrast limit; 0 is plain adaptive equalisation. */
    maxSlope: z.number().int().min(0).max(100).default(3),
  }),
  create: ({ width, height, maxSlope }) =>
    deterministic('clahe', (slice) =>
      mapChannelsWithSharp(slice, 8, 'clahe', (image) =>
        image.clahe({
          width: width ?? Math.max(1, Math.ceil(slice.cols / DEFAULT_GRID)),
          height: height ?? Math.max(1, Math.ceil(slice.rows / DEFAULT_GRID)),
          maxSlope,
        }),
      ),
    ),
});
