import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../core/atomic.ts';

/**
 * NumPy's .npy format (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html), enough for
 * float arrays shared with Python: `np.load` reads what `encodeNpy` writes (byte for byte what `np.save` writes
 * for a C-order float32 array), and `decodeNpy` reads C-order float32/float64 arrays that `np.save` wrote.
 */

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
/** numpy aligns the data to 64 bytes (magic + version + length + header). */
const ALIGNMENT = 64;
const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export interface NpyArray {
  shape: number[];
  /** C order (last axis fastest). */
  data: Float32Array;
}

function pythonShape(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

/** A float32 array as NPY v1.0 bytes; `shape`'s product must equal the data length. */
export function encodeNpy(data: Float32Array, shape: readonly number[]): Uint8Array {
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new Error(`npy: shape must hold non-negative integers, got [${shape.join(', ')}]`);
  const size = shape.reduce((n, d) => n * d, 1);
  if (size !== data.length) throw new Error(`npy: shape [${shape.join(', ')}] holds ${size} values, the data ${data.length}`);
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${pythonShape(shape)}, }`;
  const prefix = MAGIC.length + 2 + 2;
  const padded = Math.ceil((prefix + dict.length + 1) / ALIGNMENT) * ALIGNMENT;
  const header = `${dict}${' '.repeat(padded - prefix - dict.length - 1)}\n`;
  const bytes = new Uint8Array(padded + data.byteLength);
  bytes.set(MAGIC, 0);
  bytes[6] = 1; // version 1.0
  bytes[7] = 0;
  new DataView(bytes.buffer).setUint16(8, header.length, true);
  bytes.set(Buffer.from(header, 'latin1'), prefix);
  if (littleEndianHost) {
    bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), padded);
  } else {
    const view = new DataView(bytes.buffer, padded);
    data.forEach((value, i) => view.setFloat32(i * 4, value, true));
  }
  return bytes;
}

interface NpyHeader {
  descr: string;
  fortranOrder: boolean;
  shape: number[];
}

/** The header dict is a Python literal; only its three keys matter. */
function parseHeader(text: string, where: string): NpyHeader {
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new Error(`${where}: not an .npy header (needs 'descr', 'fortran_order' and 'shape'): ${text.trim()}`);
  }
  const shape = shapeText
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0)
    .map((part) => {
      const value = Number(part.replace(/L$/, ''));
      if (!Number.isInteger(value) || value < 0) throw new Error(`${where}: bad shape (${shapeText})`);
      return value;
    });
  return { descr, fortranOrder: fortran === 'True', shape };
}

const readers: Record<string, { bytes: number; read: (view: DataView, offset: number) => number }> = {
  '<f4': { bytes: 4, read: (view, offset) => view.getFloat32(offset, true) },
  '>f4': { bytes: 4, read: (view, offset) => view.getFloat32(offset, false) },
  '<f8': { bytes: 8, read: (view, offset) => view.getFloat64(offset, true) },
  '>f8': { bytes: 8, read: (view, offset) => view.getFloat64(offset, false) },
};

/** Reads NPY v1/v2/v3 bytes holding a C-order float32 or float64 array (float64 is narrowed to float32). */
export function decodeNpy(bytes: Uint8Array, where = 'npy'): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw new Error(`${where}: not an .npy file (bad magic bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  if (major < 1 || major > 3) throw new Error(`${where}: unsupported .npy version ${major}.${bytes[7]}`);
  const lengthBytes = major === 1 ? 2 : 4;
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = 8 + lengthBytes + headerLength;
  if (dataStart > bytes.length) throw new Error(`${where}: truncated .npy header`);
  const header = parseHeader(Buffer.from(bytes.subarray(8 + lengthBytes, dataStart)).toString(major === 3 ? 'utf8' : 'latin1'), where);
  const reader = readers[header.descr];
  if (!reader) throw new Error(`${where}: dtype '${header.descr}' is not supported (float32 or float64 only; save with arr.astype(np.float32))`);
  const size = header.shape.reduce((n, d) => n * d, 1);
  if (header.fortranOrder && header.shape.filter((d) => d > 1).length > 1) {
    throw new Error(`${where}: Fortran-order arrays are not supported (save np.ascontiguousarray(arr))`);
  }
  const available = bytes.length - dataStart;
  if (available !== size * reader.bytes) {
    throw new Error(`${where}: shape (${header.shape.join(', ')}) of '${header.descr}' needs ${size * reader.bytes} data bytes, the file has ${available}`);
  }
  let data: Float32Array;
  if (header.descr === '<f4' && littleEndianHost) {
    data = new Float32Array(bytes.buffer.slice(bytes.byteOffset + dataStart, bytes.byteOffset + bytes.length));
  } else {
    data = new Float32Array(size);
    for (let i = 0; i < size; i++) data[i] = reader.read(view, dataStart + i * reader.bytes);
  }
  return { shape: header.shape, data };
}

/** Writes a float32 array to `path` as .npy (atomically: readers never see half a file). */
export function writeNpy(path: string, data: Float32Array, shape: readonly number[]): void {
  writeFileAtomic(path, encodeNpy(data, shape));
}

export function readNpy(path: string): NpyArray {
  return decodeNpy(readFileSync(path), path);
}
