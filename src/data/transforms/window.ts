import { z } from 'zod';
import { DataFileError } from '../readers/errors.ts';
import type { Slice } from '../types.ts';
import { nativeKernels, type NativeKernels } from './native-kernels.ts';
import { deterministic, transforms, withData } from './transform.ts';

export interface WindowSpec {
  center: number;
  width: number;
}

/** Standard head-CT windows (centre/width in HU). */
export const namedWindows = {
  brain: { center: 40, width: 80 },
  subdural: { center: 80, width: 200 },
  bone: { center: 600, width: 2800 },
  soft: { center: 40, width: 400 },
} as const satisfies Record<string, WindowSpec>;

export type WindowName = keyof typeof namedWindows;

const windowNames = Object.keys(namedWindows) as [WindowName, ...WindowName[]];

/** A window in a config: a standard name, `file` (the file's own first centre/width), or explicit numbers. */
export const windowChoiceSchema = z.union(
  [z.enum([...windowNames, 'file']), z.object({ center: z.number(), width: z.number().positive() }).strict()],
  { error: `expected one of ${[...windowNames, 'file'].join(', ')} or { center, width } (width > 0)` },
);
export type WindowChoice = z.infer<typeof windowChoiceSchema>;

/** Clip to [c − w/2, c + w/2], then scale that range to [0, 1]. */
export function windowValue(value: number, { center, width }: WindowSpec): number {
  return scaleIntoWindow(value, center - width / 2, width);
}

function scaleIntoWindow(value: number, low: number, width: number): number {
  const scaled = (value - low) / width;
  return scaled <= 0 ? 0 : scaled >= 1 ? 1 : scaled;
}

/** The window a choice means for this slice; `file` needs the file's WindowCenter/WindowWidth. */
export function resolveWindow(choice: WindowChoice, slice: Slice): WindowSpec {
  if (typeof choice === 'object') return choice;
  if (choice !== 'file') return namedWindows[choice];
  const center = slice.meta.windowCenter?.[0];
  const width = slice.meta.windowWidth?.[0];
  if (center === undefined || width === undefined) {
    throw new DataFileError(slice.meta.source, "the 'file' window needs WindowCenter and WindowWidth, and this file has none");
  }
  if (!(width > 0)) throw new DataFileError(slice.meta.source, `the file's WindowWidth ${width} is not positive`);
  return { center, width };
}

/**
 * One-channel values (HU) → one channel per window, each 0..1, channels last (3 windows: the usual "RGB"). By the
 * native kernel where it is built (`kernels`, default nativeKernels(); null for this JavaScript loop): the same values.
 */
export function applyWindows(slice: Slice, choices: readonly WindowChoice[], kernels: NativeKernels | null = nativeKernels() ?? null): Slice {
  if (slice.channels !== 1) {
    throw new DataFileError(slice.meta.source, `windowing needs one channel of Hounsfield units, got ${slice.channels} channels`);
  }
  const windows = choices.map((choice) => resolveWindow(choice, slice));
  const lows = Float64Array.from(windows, ({ center, width }) => center - width / 2);
  const widths = Float64Array.from(windows, ({ width }) => width);
  const pixels = slice.rows * slice.cols;
  const count = windows.length;
  const { data } = slice;
  const out = new Float32Array(pixels * count);
  if (kernels) {
    kernels.window(data, pixels, lows, widths, count, out);
    return withData(slice, out, slice.rows, slice.cols, count);
  }
  for (let w = 0; w < count; w++) {
    const low = lows[w];
    const width = widths[w];
    for (let i = 0, j = w; i < pixels; i++, j += count) out[j] = scaleIntoWindow(data[i], low, width);
  }
  return withData(slice, out, slice.rows, slice.cols, count);
}

transforms.register({
  name: 'window',
  description: 'Hounsfield units → one 0..1 channel per window (brain 40/80, subdural 80/200, bone 600/2800, soft 40/400, file, or {center, width})',
  schema: z.object({
    windows: z.array(windowChoiceSchema).min(1).default(['brain', 'subdural', 'bone']),
  }),
  create: ({ windows }) => deterministic('window', async (slice) => applyWindows(slice, windows)),
});
