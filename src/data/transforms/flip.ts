import { z } from 'zod';
import type { Slice } from '../types.ts';
import { transforms, withData, type SliceTransform } from './transform.ts';

export interface FlipParams {
  horizontal: boolean;
  vertical: boolean;
}

/** Mirrors columns (horizontal) and/or rows (vertical); exact, any channel count. */
export function flipSlice(slice: Slice, { horizontal, vertical }: FlipParams): Slice {
  if (!horizontal && !vertical) return slice;
  const { rows, cols, channels, data } = slice;
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) {
    const sourceRow = vertical ? rows - 1 - r : r;
    for (let c = 0; c < cols; c++) {
      const sourceCol = horizontal ? cols - 1 - c : c;
      const from = (sourceRow * cols + sourceCol) * channels;
      const to = (r * cols + c) * channels;
      for (let k = 0; k < channels; k++) out[to + k] = data[from + k];
    }
  }
  return withData(slice, out);
}

transforms.register({
  name: 'flip',
  description: 'random mirror: horizontal / vertical are probabilities (default 0.5 / 0)',
  schema: z.object({
    horizontal: z.number().min(0).max(1).default(0.5),
    vertical: z.number().min(0).max(1).default(0),
  }),
  create: ({ horizontal, vertical }): SliceTransform<FlipParams> => ({
    name: 'flip',
    random: true,
    sample: (rng) => ({ horizontal: rng.bernoulli(horizontal), vertical: rng.bernoulli(vertical) }),
    apply: async (slice, params) => flipSlice(slice, params),
    moveMask: (mask, params) => flipSlice(mask, params),
  }),
});
