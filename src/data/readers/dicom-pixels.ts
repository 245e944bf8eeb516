/** Native (uncompressed) DICOM pixel data → stored values as float, channels last. */
export interface PixelFormat {
  rows: number;
  cols: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  bitsStored: number;
  /** 0 unsigned, 1 two's complement. */
  pixelRepresentation: number;
  /** 0 interleaved (r g b r g b …), 1 one plane per sample. Only matters for samplesPerPixel > 1. */
  planarConfiguration: number;
  littleEndian: boolean;
}

export function frameByteLength(format: PixelFormat): number {
  return format.rows * format.cols * format.samplesPerPixel * (format.bitsAllocated / 8);
}

/** The smallest and largest stored value BitsStored and PixelRepresentation allow. */
export function storedValueRange(bitsStored: number, pixelRepresentation: number): [number, number] {
  return pixelRepresentation === 1 ? [-(2 ** (bitsStored - 1)), 2 ** (bitsStored - 1) - 1] : [0, 2 ** bitsStored - 1];
}

type SampleReader = (view: DataView, byteOffset: number, littleEndian: boolean) => number;

function sampleReader(bitsAllocated: number, signed: boolean): SampleReader {
  switch (bitsAllocated) {
    case 8:
      return signed ? (v, o) => v.getInt8(o) : (v, o) => v.getUint8(o);
    case 16:
      return signed ? (v, o, le) => v.getInt16(o, le) : (v, o, le) => v.getUint16(o, le);
    case 32:
      return signed ? (v, o, le) => v.getInt32(o, le) : (v, o, le) => v.getUint32(o, le);
    default:
      throw new Error(`BitsAllocated ${bitsAllocated} is not supported (8, 16 or 32)`);
  }
}

/**
 * Decodes one frame. Bits above BitsStored are masked off (some scanners put overlay bits there), and signed
 * values are sign-extended from BitsStored, so a 12-bit signed −1 reads as −1, not 4095.
 * Throws a plain Error with the reason; the caller names the file.
 */
export function decodeNativePixels(bytes: Uint8Array, format: PixelFormat): Float32Array {
  const { rows, cols, samplesPerPixel, bitsAllocated, bitsStored, pixelRepresentation } = format;
  if (bitsStored < 1 || bitsStored > bitsAllocated) {
    throw new Error(`BitsStored ${bitsStored} does not fit BitsAllocated ${bitsAllocated}`);
  }
  const expected = frameByteLength(format);
  if (bytes.length < expected) {
    throw new Error(
      `pixel data holds ${bytes.length} bytes, expected ${expected} (${rows}x${cols}, ${samplesPerPixel} sample(s), ${bitsAllocated} bits)`,
    );
  }
  const signed = pixelRepresentation === 1;
  const read = sampleReader(bitsAllocated, signed);
  const step = bitsAllocated / 8;
  const view = new DataView(bytes.buffer, bytes.byteOffset, expected);
  const count = rows * cols * samplesPerPixel;
  const out = new Float32Array(count);
  // bitsStored < bitsAllocated ≤ 32 here, so the mask and shifts stay within int32 arithmetic.
  const masked = bitsStored < bitsAllocated;
  const mask = masked ? (1 << bitsStored) - 1 : 0;
  const shift = 32 - bitsStored;
  const planar = samplesPerPixel > 1 && format.planarConfiguration === 1;
  const pixels = rows * cols;
  const littleEndian = format.littleEndian;
  for (let i = 0; i < count; i++) {
    // Channels last: output index i is (pixel, sample); planar files store sample planes one after another.
    const source = planar ? (i % samplesPerPixel) * pixels + Math.floor(i / samplesPerPixel) : i;
    const value = read(view, source * step, littleEndian);
    out[i] = !masked ? value : signed ? ((value & mask) << shift) >> shift : value & mask;
  }
  return out;
}
