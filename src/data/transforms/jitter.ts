import { z } from 'zod';
import { Rng } from '../../core/rng.ts';
import type { Slice } from '../types.ts';
import { transforms, withData, type SliceTransform } from './transform.ts';

export interface JitterParams {
  /** Added after contrast and gain. */
  brightness: number;
  /** Multiplies the distance from mid-grey (0.5). */
  contrast: number;
  /** Seeds the per-channel gains, so every slice of a patient gets the same ones whatever its channel count. */
  colourSeed: number;
  colour: number;
}

/** Per-channel gains 1 ± colour, drawn from the params' own seed. */
export function channelGains(params: JitterParams, channels: number): number[] {
  const rng = new Rng(params.colourSeed);
  return Array.from({ length: channels }, () => 1 + (params.colour > 0 ? rng.uniform(-params.colour, params.colour) : 0));
}

/** v → ((v − 0.5)·contrast + 0.5)·gain[channel] + brightness, clipped to [0, 1] when `clip`. */
export function jitterSlice(slice: Slice, params: JitterParams, clip: boolean): Slice {
  const { channels, data } = slice;
  const gains = channelGains(params, channels);
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const value = ((data[i] - 0.5) * params.contrast + 0.5) * gains[i % channels] + params.brightness;
    out[i] = clip ? Math.min(1, Math.max(0, value)) : value;
  }
  return withData(slice, out);
}

transforms.register({
  name: 'jitter',
  description: 'random brightness (± shift), contrast (× 1 ± c about 0.5) and colour (per-channel gain 1 ± g) on [0, 1] data',
  schema: z.object({
    brightness: z.number().min(0).max(1).default(0.1),
    contrast: z.number().min(0).max(1).default(0.1),
    colour: z.number().min(0).max(1).default(0),
    probability: z.number().min(0).max(1).default(1),
    clip: z.boolean().default(true),
  }),
  create: ({ brightness, contrast, colour, probability, clip }): SliceTransform<JitterParams> => ({
    name: 'jitter',
    random: true,
    sample: (rng) => {
      const apply = rng.bernoulli(probability);
      const drawn: JitterParams = {
        brightness: rng.uniform(-brightness, brightness),
        contrast: 1 + rng.uniform(-contrast, contrast),
        colourSeed: rng.uint32(),
        colour,
      };
      return apply ? drawn : { brightness: 0, contrast: 1, colourSeed: drawn.colourSeed, colour: 0 };
    },
    apply: async (slice, params) => jitterSlice(slice, params, clip),
  }),
});
