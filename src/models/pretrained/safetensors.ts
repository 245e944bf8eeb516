import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { naturalCompare, type SourceLayer, type SourceTensor, type WeightFile } from './source.ts';

/**
 * The safetensors format (https://huggingface.co/docs/safetensors): an 8-byte little-endian header length, a JSON
 * header `{ name: { dtype, shape, data_offsets: [begin, end] } }` (offsets from the end of the header), then
 * the raw little-endian tensors. Tensors are read one at a time from disk, so inspecting never loads the file.
 * PyTorch state dicts are grouped into modules: `layer1.0.bn1.running_var` → module `layer1.0.bn1`.
 */
interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

const bytesPerValue: Record<string, number> = { F32: 4, F64: 8, F16: 2, BF16: 2, I64: 8, I32: 4 };

function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

function decode(bytes: Buffer, dtype: string, where: string): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.byteLength / bytesPerValue[dtype];
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    switch (dtype) {
      case 'F32': out[i] = view.getFloat32(i * 4, true); break;
      case 'F64': out[i] = view.getFloat64(i * 8, true); break;
      case 'F16': out[i] = halfToFloat(view.getUint16(i * 2, true)); break;
      case 'BF16': out[i] = new Float32Array(new Uint32Array([view.getUint16(i * 2, true) << 16]).buffer)[0]; break;
      case 'I64': out[i] = Number(view.getBigInt64(i * 8, true)); break;
      case 'I32': out[i] = view.getInt32(i * 4, true); break;
      default: throw new Error(`${where}: dtype ${dtype} is not supported`);
    }
  }
  return out;
}

function readAt(path: string, position: number, length: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const n = readSync(fd, buffer, done, length - done, position + done);
      if (n === 0) throw new Error(`${path}: the file ends at byte ${position + done}, ${length - done} bytes early`);
      done += n;
    }
    return buffer;
  } finally {
    closeSync(fd);
  }
}

function readHeader(path: string): { header: Record<string, HeaderEntry>; dataStart: number; size: number } {
  const fd = openSync(path, 'r');
  let size: number;
  try {
    size = fstatSync(fd).size;
  } finally {
    closeSync(fd);
  }
  if (size < 8) throw new Error(`${path}: not a safetensors file (${size} bytes)`);
  const headerLength = Number(readAt(path, 0, 8).readBigUInt64LE(0));
  if (headerLength <= 0 || 8 + headerLength > size) throw new Error(`${path}: not a safetensors file (header length ${headerLength} for ${size} bytes)`);
  let header: Record<string, HeaderEntry>;
  try {
    header = JSON.parse(readAt(path, 8, headerLength).toString('utf8')) as Record<string, HeaderEntry>;
  } catch (error) {
    throw new Error(`${path}: not a safetensors file (header is not JSON: ${(error as Error).message})`);
  }
  return { header, dataStart: 8 + headerLength, size };
}

export function readSafetensors(path: string): WeightFile {
  const { header, dataStart, size } = readHeader(path);
  const modules = new Map<string, SourceTensor[]>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const where = `${path}: tensor '${name}'`;
    if (!(entry.dtype in bytesPerValue)) throw new Error(`${where}: dtype ${entry.dtype} is not supported (F32, F64, F16, BF16, I64, I32 are)`);
    const [begin, end] = entry.data_offsets;
    const count = entry.shape.reduce((n, d) => n * d, 1);
    if (end - begin !== count * bytesPerValue[entry.dtype] || dataStart + end > size) {
      throw new Error(`${where}: data_offsets [${begin}, ${end}] do not hold shape [${entry.shape.join(', ')}] of ${entry.dtype} in a ${size}-byte file`);
    }
    const dot = name.lastIndexOf('.');
    const module = dot < 0 ? '' : name.slice(0, dot);
    const tensor: SourceTensor = {
      name,
      key: name.slice(dot + 1),
      shape: entry.shape,
      read: () => decode(readAt(path, dataStart + begin, end - begin), entry.dtype, where),
    };
    modules.set(module, [...(modules.get(module) ?? []), tensor]);
  }
  const layers: SourceLayer[] = [...modules.entries()].sort(([a], [b]) => naturalCompare(a, b)).map(([name, tensors]) => ({ name, tensors }));
  return { path, format: 'safetensors', layout: 'torch', layers };
}
