import sharp from 'sharp';
import type { Slice } from '../types.ts';
import { DataFileError, describeThrown } from './errors.ts';

/** sharp's output colourspace that keeps the stored bands and bit depth untouched. */
function passThroughColourspace(channels: number, sixteenBit: boolean): string {
  if (channels <= 2) return sixteenBit ? 'grey16' : 'b-w';
  return sixteenBit ? 'rgb16' : 'srgb';
}

/**
 * Reads a PNG, JPEG or TIFF with sharp: channels as stored (grey stays one channel, alpha is kept), values
 * 0..255 for 8-bit files and 0..65535 for 16-bit ones, as float, row-major, channels last.
 */
export async function readImage(path: string): Promise<Slice> {
  try {
    const image = sharp(path, { failOn: 'error' });
    const metadata = await image.metadata();
    if (metadata.depth !== 'uchar' && metadata.depth !== 'ushort') {
      throw new Error(`${metadata.depth ?? 'unknown'} samples are not supported (8- or 16-bit unsigned)`);
    }
    const sixteenBit = metadata.depth === 'ushort';
    const { data, info } = await image
      .toColourspace(passThroughColourspace(metadata.channels ?? 1, sixteenBit))
      .raw({ depth: sixteenBit ? 'ushort' : 'uchar' })
      .toBuffer({ resolveWithObject: true });
    const samples = sixteenBit ? new Uint16Array(data.buffer, data.byteOffset, data.length / 2) : data;
    return {
      rows: info.height,
      cols: info.width,
      channels: info.channels,
      data: Float32Array.from(samples),
      meta: { source: path, format: 'image' },
    };
  } catch (error) {
    throw new DataFileError(path, `cannot decode image (${describeThrown(error)})`, { cause: error });
  }
}
