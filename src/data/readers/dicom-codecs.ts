import { createRequire } from 'node:module';

/**
 * Decoders for compressed (encapsulated) DICOM pixel data. Each takes one frame's compressed bytes and gives its
 * samples uncompressed: little-endian, `bytesPerSample` bytes each (1 or 2), samples of a pixel together
 * (planar configuration 0), for decodeNativePixels to mask, sign-extend and rescale as it does native data.
 *  - JPEG Baseline (8-bit): libjpeg-turbo (@cornerstonejs/codec-libjpeg-turbo-8bit), YCbCr converted to RGB, and a
 *    frame the header calls RGB left as stored (`jpegColourSpace`);
 *  - JPEG Lossless, processes 14 and 14 SV1: jpeg-lossless-decoder-js;
 *  - JPEG-LS lossless and near-lossless: CharLS (@cornerstonejs/codec-charls);
 *  - JPEG 2000 lossless and lossy: OpenJPEG (@cornerstonejs/codec-openjpeg);
 *  - RLE Lossless: the PackBits segments of DICOM PS3.5 Annex G, decoded here.
 * The WebAssembly codecs load on first use, once per thread.
 */
export interface FrameDescription {
  rows: number;
  cols: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  /** The header's PhotometricInterpretation: it decides a JPEG Baseline frame's colour space (see `jpegColourSpace`). */
  photometricInterpretation?: string;
}

export type FrameDecoder = (frame: Uint8Array, description: FrameDescription) => Promise<Uint8Array>;

/** The part of the Cornerstone (Emscripten) decoders used here; they share one interface. */
interface WasmDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  decode(): void;
  getDecodedBuffer(): Uint8Array;
  getFrameInfo(): { width: number; height: number; bitsPerSample: number; componentCount: number };
}
type WasmModule = Record<string, new () => WasmDecoder>;

const require = createRequire(import.meta.url);
const modules = new Map<string, Promise<WasmModule>>();

function wasmModule(specifier: string): Promise<WasmModule> {
  let loading = modules.get(specifier);
  if (!loading) {
    const factory = require(specifier) as (options: object) => Promise<WasmModule>;
    // The codecs' own progress messages (OpenJPEG's [INFO] lines) stay out of the logs.
    loading = factory({ print: () => {}, printErr: () => {} });
    modules.set(specifier, loading);
  }
  return loading;
}

function wasmDecoder(specifier: string, className: string): FrameDecoder {
  return async (frame, description) => {
    const module = await wasmModule(specifier);
    const decoder = new module[className]();
    decoder.getEncodedBuffer(frame.length).set(frame);
    decoder.decode();
    const info = decoder.getFrameInfo();
    checkFrame(info.width, info.height, info.componentCount, description);
    // A view of the wasm heap: copied out before the next decode reuses it.
    return Uint8Array.from(decoder.getDecodedBuffer());
  };
}

function checkFrame(width: number, height: number, components: number, { rows, cols, samplesPerPixel }: FrameDescription): void {
  if (width !== cols || height !== rows || components !== samplesPerPixel) {
    throw new Error(`the compressed frame is ${width}x${height} with ${components} component(s), the header says ${cols}x${rows} with ${samplesPerPixel}`);
  }
}

/** An Adobe APP14 segment with transform 0: the components are stored without a colour transform. */
const ADOBE_NO_TRANSFORM = Uint8Array.of(0xff, 0xee, 0x00, 0x0e, 0x41, 0x64, 0x6f, 0x62, 0x65, 0x00, 0x64, 0x00, 0x00, 0x00, 0x00, 0x00);

/** Whether a JPEG stream names its colour space itself: a JFIF (APP0) or Adobe (APP14) segment before the scan. */
function hasColourMarker(frame: Uint8Array): boolean {
  let pos = 2;
  while (pos + 4 <= frame.length && frame[pos] === 0xff) {
    const marker = frame[pos + 1];
    if (marker === 0xff) {
      pos++; // fill byte
      continue;
    }
    if (marker === 0xda || marker === 0xd9) return false;
    const length = (frame[pos + 2] << 8) | frame[pos + 3];
    const tag = String.fromCharCode(...frame.subarray(pos + 4, pos + 9));
    if ((marker === 0xe0 && tag === 'JFIF\0') || (marker === 0xee && tag === 'Adobe')) return true;
    pos += 2 + length;
  }
  return false;
}

/**
 * JPEG's own convention reads three components without a JFIF or Adobe marker as YCbCr (unless their ids spell
 * R, G, B) and converts them to RGB; in DICOM the header's PhotometricInterpretation says what they hold, and
 * pydicom and GDCM follow it. A frame the header calls RGB that names no colour space gets an Adobe marker saying
 * "no transform", so the decoder returns its samples as stored.
 */
export function jpegColourSpace(frame: Uint8Array, photometricInterpretation: string | undefined): Uint8Array {
  if (photometricInterpretation !== 'RGB' || frame[0] !== 0xff || frame[1] !== 0xd8 || hasColourMarker(frame)) return frame;
  const marked = new Uint8Array(frame.length + ADOBE_NO_TRANSFORM.length);
  marked.set(frame.subarray(0, 2));
  marked.set(ADOBE_NO_TRANSFORM, 2);
  marked.set(frame.subarray(2), 2 + ADOBE_NO_TRANSFORM.length);
  return marked;
}

const jpegBaseline = wasmDecoder('@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs', 'JPEGDecoder');

const jpegLossless: FrameDecoder = async (frame, description) => {
  const { Decoder } = require('jpeg-lossless-decoder-js') as {
    Decoder: new () => { decode(buffer: ArrayBufferLike, offset: number, length: number): ArrayBufferView };
  };
  const decoded = new Decoder().decode(frame.buffer, frame.byteOffset, frame.length);
  const bytes = new Uint8Array(decoded.buffer, decoded.byteOffset, decoded.byteLength);
  const expected = description.rows * description.cols * description.samplesPerPixel * (description.bitsAllocated / 8);
  if (bytes.length !== expected) throw new Error(`the compressed frame decoded to ${bytes.length} bytes, the header needs ${expected}`);
  return Uint8Array.from(bytes);
};

/** RLE Lossless (PS3.5 Annex G): one PackBits segment per byte plane, most significant byte first, sample by sample. */
export const rleLossless: FrameDecoder = async (frame, { rows, cols, samplesPerPixel, bitsAllocated }) => {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (frame.length < 64) throw new Error(`RLE frame of ${frame.length} bytes is shorter than its 64-byte header`);
  const segments = view.getUint32(0, true);
  const bytesPerSample = bitsAllocated / 8;
  if (segments !== samplesPerPixel * bytesPerSample) {
    throw new Error(`RLE frame has ${segments} segments, ${samplesPerPixel} sample(s) of ${bitsAllocated} bits need ${samplesPerPixel * bytesPerSample}`);
  }
  const pixels = rows * cols;
  const out = new Uint8Array(pixels * segments);
  for (let segment = 0; segment < segments; segment++) {
    const start = view.getUint32(4 + 4 * segment, true);
    const end = segment + 1 < segments ? view.getUint32(8 + 4 * segment, true) : frame.length;
    const sample = Math.floor(segment / bytesPerSample);
    // Little-endian output: the segment of significance k (0 = most significant) is byte bytesPerSample − 1 − k.
    const byte = bytesPerSample - 1 - (segment % bytesPerSample);
    const stride = segments;
    let target = sample * bytesPerSample + byte;
    let written = 0;
    let pos = start;
    while (written < pixels) {
      if (pos >= end) throw new Error(`RLE segment ${segment + 1} ends after ${written} of ${pixels} bytes`);
      const header = (frame[pos++] << 24) >> 24;
      if (header >= 0) {
        for (let i = 0; i <= header && written < pixels; i++, written++, target += stride) out[target] = frame[pos++];
      } else if (header !== -128) {
        const value = frame[pos++];
        for (let i = 0; i < 1 - header && written < pixels; i++, written++, target += stride) out[target] = value;
      }
    }
  }
  return out;
};

const decoders: Record<string, FrameDecoder> = {
  '1.2.840.10008.1.2.4.50': (frame, description) => jpegBaseline(jpegColourSpace(frame, description.photometricInterpretation), description),
  '1.2.840.10008.1.2.4.57': jpegLossless,
  '1.2.840.10008.1.2.4.70': jpegLossless,
  '1.2.840.10008.1.2.4.80': wasmDecoder('@cornerstonejs/codec-charls/decodewasmjs', 'JpegLSDecoder'),
  '1.2.840.10008.1.2.4.81': wasmDecoder('@cornerstonejs/codec-charls/decodewasmjs', 'JpegLSDecoder'),
  '1.2.840.10008.1.2.4.90': wasmDecoder('@cornerstonejs/codec-openjpeg/decodewasmjs', 'J2KDecoder'),
  '1.2.840.10008.1.2.4.91': wasmDecoder('@cornerstonejs/codec-openjpeg/decodewasmjs', 'J2KDecoder'),
  '1.2.840.10008.1.2.5': rleLossless,
};

/** The decoder for a compressed transfer syntax, or undefined when none is available. */
export function frameDecoder(transferSyntaxUid: string): FrameDecoder | undefined {
  return decoders[transferSyntaxUid];
}

/** Whether compressed pixel data of this syntax can be decoded. */
export function hasFrameDecoder(transferSyntaxUid: string): boolean {
  return transferSyntaxUid in decoders;
}
