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

/** Why samples of this size cannot be decoded, if they cannot (the header scan asks before the full read does). */
export function sampleSizeProblem(bitsAllocated: number, bitsStored: number): string | undefined {
  if (bitsAllocated !== 8 && bitsAllocated !== 16 && bitsAllocated !== 32) return `BitsAllocated ${bitsAllocated} is not supported (8, 16 or 32)`;
  if (bitsStored < 1 || bitsStored > bitsAllocated) return `BitsStored ${bitsStored} does not fit BitsAllocated ${bitsAllocated}`;
  return undefined;
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
      throw new Error(sampleSizeProblem(bitsAllocated, bitsAllocated));
  }
}

/**
 * Decodes one frame. Bits above BitsStored are masked off (some scanners put overlay bits there), and signed
 * values are sign-extended from BitsStored, so a 12-bit signed −1 reads as −1, not 4095.
 * Throws a plain Error with the reason; the caller names the file.
 */
export function decodeNativePixels(bytes: Uint8Array, format: PixelFormat): Float32Array {
  const { rows, cols, samplesPerPixel, bitsAllocated, bitsStored, pixelRepresentation } = format;
  const problem = sampleSizeProblem(bitsAllocated, bitsStored);
  if (problem) throw new Error(problem);
  const expected = frameByteLength(format);
  if (bytes.length < expected) {
    throw new Error(
      `pixel data holds ${bytes.length} bytes, expected ${expected} (${rows}x${cols}, ${samplesPerPixel} sample(s), ${bitsAllocated} bits)`,
    );
  }
  const signed = pixelRepresentation === 1;
  const count = rows * cols * samplesPerPixel;
  const planar = samplesPerPixel > 1 && format.planarConfiguration === 1;
  const samples = !planar && format.littleEndian === HOST_LITTLE_ENDIAN ? sampleArray(bytes, bitsAllocated, signed, count) : undefined;
  // bitsStored < bitsAllocated ≤ 32 here, so the mask and shifts stay within int32 arithmetic.
  const masked = bitsStored < bitsAllocated;
  const mask = masked ? (1 << bitsStored) - 1 : 0;
  const shift = 32 - bitsStored;
  const out = new Float32Array(count);
  if (samples) {
    // The common case (interleaved samples in the host's byte order): a typed view of the bytes, one pass.
    if (!masked) for (let i = 0; i < count; i++) out[i] = samples[i];
    else if (signed) for (let i = 0; i < count; i++) out[i] = ((samples[i] & mask) << shift) >> shift;
    else for (let i = 0; i < count; i++) out[i] = samples[i] & mask;
    return out;
  }
  const read = sampleReader(bitsAllocated, signed);
  const step = bitsAllocated / 8;
  const view = new DataView(bytes.buffer, bytes.byteOffset, expected);
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

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

type SampleArray = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array;

const SAMPLE_TYPES: Record<string, { new (buffer: ArrayBufferLike, byteOffset: number, length: number): SampleArray; BYTES_PER_ELEMENT: number } | undefined> = {
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
};

/**
 * The first `count` samples as a typed array over the bytes, copied first when they are not aligned (into a new
 * Uint8Array: a Node Buffer's `slice()` is a view at the same unaligned offset).
 */
function sampleArray(bytes: Uint8Array, bitsAllocated: number, signed: boolean, count: number): SampleArray | undefined {
  const type = SAMPLE_TYPES[`${signed ? 'int' : 'uint'}${bitsAllocated}`];
  if (!type) return undefined;
  const length = count * type.BYTES_PER_ELEMENT;
  let aligned = bytes;
  if (bytes.byteOffset % type.BYTES_PER_ELEMENT !== 0) {
    aligned = new Uint8Array(length);
    aligned.set(bytes.subarray(0, length));
  }
  return new type(aligned.buffer, aligned.byteOffset, count);
}

/**
 * Uncompressed YBR_FULL_422 (PS3.3 C.7.6.3.1.2): each pair of pixels in a row is stored as Y1 Y2 Cb Cr, the two
 * sharing their chroma. `samples` holds them as decoded (rows × cols × 2 values); the result has three samples per
 * pixel (Y Cb Cr), as YBR_FULL stores them.
 */
export function expandYbr422(samples: Float32Array, rows: number, cols: number): Float32Array {
  if (cols % 2 !== 0) throw new Error(`YBR_FULL_422 needs an even number of columns, got ${cols}`);
  const out = new Float32Array(rows * cols * 3);
  for (let pair = 0; pair < (rows * cols) / 2; pair++) {
    const [y1, y2, cb, cr] = [samples[4 * pair], samples[4 * pair + 1], samples[4 * pair + 2], samples[4 * pair + 3]];
    out.set([y1, cb, cr, y2, cb, cr], 6 * pair);
  }
  return out;
}

/**
 * YBR_FULL (Y Cb Cr, full range, chroma centred on half the range) to RGB in place, as PS3.3 C.7.6.3.1.2 and
 * pydicom's `convert_color_space` compute it, rounded and clipped to the stored range.
 */
export function ybrFullToRgb(values: Float32Array, bitsStored: number): void {
  const max = 2 ** bitsStored - 1;
  const centre = 2 ** (bitsStored - 1);
  const clip = (v: number) => Math.min(max, Math.max(0, Math.floor(v + 0.5)));
  for (let i = 0; i < values.length; i += 3) {
    const y = values[i];
    const cb = values[i + 1] - centre;
    const cr = values[i + 2] - centre;
    values[i] = clip(y + 1.402 * cr);
    values[i + 1] = clip(y - ((0.114 * 1.772) / 0.587) * cb - ((0.299 * 1.402) / 0.587) * cr);
    values[i + 2] = clip(y + 1.772 * cb);
  }
}
