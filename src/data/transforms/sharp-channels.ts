import sharp, { type Sharp } from 'sharp';
import { DataFileError } from '../readers/errors.ts';
import type { Slice } from '../types.ts';
import { withData } from './transform.ts';

/**
 * sharp (libvips) works on 8/16-bit integer images, so float slices are quantised on the way in and out:
 *  - depth 8: values must already be in [0, 1] (e.g. after windowing) and map to 0..255;
 *  - depth 16: each channel's own [min, max] maps onto 0..65535 (error ≤ range / 131070).
 * Either way results stay within the input channel's range (a kernel's overshoot is clipped).
 * Three channels go through one pipeline as an RGB image (libvips treats the bands independently for the
 * operations used here: resize, clahe); any other count goes one channel at a time as greyscale, since sharp
 * would read 2 or 4 bands as having alpha.
 */
export type SharpDepth = 8 | 16;

interface Quantisation {
  low: number;
  scale: number;
}

export async function mapChannelsWithSharp(
  slice: Slice,
  depth: SharpDepth,
  operation: string,
  build: (image: Sharp) => Sharp,
): Promise<Slice> {
  const { channels } = slice;
  const quantisation = Array.from({ length: channels }, (_, channel) =>
    depth === 8 ? unitRange(slice, channel, operation) : channelRange(slice, channel),
  );
  const groups = channels === 3 ? [[0, 1, 2]] : Array.from({ length: channels }, (_, channel) => [channel]);
  const results = await Promise.all(groups.map((group) => runGroup(slice, group, quantisation, depth, build)));
  const { rows, cols } = results[0];
  const out = new Float32Array(rows * cols * channels);
  results.forEach(({ values }, g) => {
    const group = groups[g];
    for (let i = 0; i < rows * cols; i++) {
      for (let k = 0; k < group.length; k++) out[i * channels + group[k]] = values[i * group.length + k];
    }
  });
  return withData(slice, out, rows, cols, channels);
}

async function runGroup(
  slice: Slice,
  group: number[],
  quantisation: Quantisation[],
  depth: SharpDepth,
  build: (image: Sharp) => Sharp,
): Promise<{ values: Float32Array; rows: number; cols: number }> {
  const { rows, cols, channels, data } = slice;
  const bands = group.length;
  const maxCode = depth === 8 ? 255 : 65535;
  const input = depth === 8 ? new Uint8Array(rows * cols * bands) : new Uint16Array(rows * cols * bands);
  for (let i = 0; i < rows * cols; i++) {
    for (let k = 0; k < bands; k++) {
      const { low, scale } = quantisation[group[k]];
      input[i * bands + k] = Math.round((data[i * channels + group[k]] - low) * scale);
    }
  }
  const colourspace = bands === 3 ? (depth === 8 ? 'srgb' : 'rgb16') : depth === 8 ? 'b-w' : 'grey16';
  const image = sharp(input, { raw: { width: cols, height: rows, channels: bands as 1 | 3 } });
  const { data: output, info } = await build(image)
    .toColourspace(colourspace)
    .raw({ depth: depth === 8 ? 'uchar' : 'ushort' })
    .toBuffer({ resolveWithObject: true });
  const codes = depth === 8 ? output : new Uint16Array(output.buffer, output.byteOffset, output.length / 2);
  const values = new Float32Array(codes.length);
  for (let i = 0; i < codes.length; i++) {
    const { low, scale } = quantisation[group[i % bands]];
    values[i] = low + Math.min(codes[i], maxCode) * (scale > 0 ? 1 / scale : 0);
  }
  return { values, rows: info.height, cols: info.width };
}

/** Checks one channel holds values in [0, 1] (errors name the file) and gives its 8-bit quantisation. */
export function unitRange(slice: Slice, channel: number, operation: string): Quantisation {
  for (let i = channel; i < slice.data.length; i += slice.channels) {
    const value = slice.data[i];
    if (!(value >= -1e-6 && value <= 1 + 1e-6)) {
      throw new DataFileError(
        slice.meta.source,
        `${operation} needs values in [0, 1] (put a window step before it), found ${value} in channel ${channel}`,
      );
    }
  }
  return { low: 0, scale: 255 };
}

function channelRange(slice: Slice, channel: number): Quantisation {
  let low = Infinity;
  let high = -Infinity;
  for (let i = channel; i < slice.data.length; i += slice.channels) {
    const value = slice.data[i];
    if (value < low) low = value;
    if (value > high) high = value;
  }
  if (!Number.isFinite(low) || !Number.isFinite(high)) {
    throw new DataFileError(slice.meta.source, `non-finite values in channel ${channel}`);
  }
  return { low, scale: high > low ? 65535 / (high - low) : 0 };
}
