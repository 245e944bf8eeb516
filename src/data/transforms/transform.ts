import { Registry } from '../../core/registry.ts';
import type { Rng } from '../../core/rng.ts';
import type { Slice } from '../types.ts';

/**
 * One preprocessing step over a slice (MONAI-style: small, pure, explicit parameters). A random augmentation
 * splits its randomness from its work: `sample` draws the parameters from the Rng it is given (once per patient,
 * so every slice of a volume moves together, or once per slice), `apply` is a pure function of slice and
 * parameters. Deterministic steps have `random: false` and ignore the Rng.
 */
export interface SliceTransform<Params = unknown> {
  readonly name: string;
  readonly random: boolean;
  sample(rng: Rng): Params;
  apply(slice: Slice, params: Params): Promise<Slice>;
  /**
   * How a label map (a mask slice of integer grades) follows this step: geometric steps move it the same way,
   * with nearest-neighbour sampling and `fill` where nothing maps; steps without it (intensity changes) leave
   * label maps as they are.
   */
  moveMask?(mask: Slice, params: Params, fill: number): Slice;
}

/** Transforms need nothing beyond their config. */
export type TransformContext = Record<string, never>;

export const transforms = new Registry<TransformContext, SliceTransform>('transform');

/** A deterministic transform: no parameters to draw. */
export function deterministic(name: string, apply: (slice: Slice) => Promise<Slice>): SliceTransform<undefined> {
  return { name, random: false, sample: () => undefined, apply: (slice) => apply(slice) };
}

/** A new slice with the same metadata (transforms never mutate their input). */
export function withData(slice: Slice, data: Float32Array, rows = slice.rows, cols = slice.cols, channels = slice.channels): Slice {
  if (data.length !== rows * cols * channels) {
    throw new Error(`internal: ${data.length} values for ${rows}x${cols}x${channels}`);
  }
  return { rows, cols, channels, data, meta: slice.meta };
}
