import { createHash } from 'node:crypto';
import { readdirSync, rmSync, statSync, utimesSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic.ts';
import { log } from '../core/log.ts';
import { UNIT_STEPS } from './transforms/clahe.ts';
import type { Slice, SliceMeta } from './types.ts';
import type { MissingRescale } from './readers/dicom.ts';

/** Part of every key: entries written under another key version are never looked up (they age out). */
const CACHE_KEY_VERSION = 1;
/** Entry header versions: 1 held float32 only (still read); 2 names each slice's stored form. */
const ENTRY_VERSION = 2;
const READABLE_ENTRY_VERSIONS = new Set([1, 2]);

/**
 * How a cached slice's values are stored:
 * - `uint8`: every value is k / 255 as float32 (CLAHE's output, UNIT_STEPS): one byte each, read back bit for bit;
 * - `float16`: IEEE half precision, only where the config asks for lossy entries (`cachePrecision: 'float16'`);
 * - `float32`: everything else, as computed.
 */
export type CachedForm = 'uint8' | 'float16' | 'float32';
const BYTES: Record<CachedForm, number> = { uint8: 1, float16: 2, float32: 4 };

/**
 * `lossless` (default): the smallest form that reads back bit for bit (uint8 where it can, else float32).
 * `float16`: uint8 where lossless, else half precision where every value is finite and within ±65504 (relative
 * error at most 2^-11, absolute at most 2^-12 for values in [0, 1]; see docs/data-at-scale.md), else float32.
 */
export type CachePrecision = 'lossless' | 'float16';

/** What a cache key is made of: each source file's identity (path, frame, size, mtime) and the preprocessing fingerprint. */
export interface CacheSource {
  path: string;
  frame?: number;
  size: number;
  mtimeMs: number;
  /** The dataset's rule for CT slices without rescale tags, where it is not the default (it changes the values). */
  missingRescale?: MissingRescale;
}

interface EntryHeader {
  version: number;
  /** Absent in version 1 entries (all float32). */
  slices: Array<{ rows: number; cols: number; channels: number; meta: SliceMeta; form?: CachedForm }>;
}

/**
 * On-disk cache of a patient's decoded, deterministically preprocessed slices, so later epochs skip decoding.
 * An entry is keyed by its sources' paths, sizes and mtimes plus the preprocessing fingerprint: a changed file or
 * a changed transform misses and is rebuilt; random augmentation runs after the cache and never enters it.
 * Entry layout: uint32 header length, JSON header (slice shapes, metadata and stored form, padded to 4 bytes),
 * then each slice's values in its form (see CachedForm): a CLAHE output takes a quarter of its float32 size.
 */
export class SliceCache {
  hits = 0;
  misses = 0;
  evicted = 0;
  /** Entry files and their size and last use, read from disk on the first `put` when the cache has a size limit. */
  private entries: Map<string, { bytes: number; used: number }> | undefined;
  private totalBytes = 0;

  /**
   * `maxBytes`: once the entries pass it, the least recently used ones are deleted down to 90% of it.
   * `precision`: lossy float16 entries only when asked; they have keys of their own, so a lossless config never reads one.
   */
  constructor(
    readonly dir: string,
    readonly maxBytes?: number,
    readonly precision: CachePrecision = 'lossless',
  ) {}

  key(fingerprint: string, sources: readonly CacheSource[]): string {
    const lossy = this.precision === 'lossless' ? '' : `\u0000${this.precision}`;
    const hash = createHash('sha1').update(`v${CACHE_KEY_VERSION}\u0000${fingerprint}${lossy}\n`);
    for (const s of sources) hash.update(`${s.path}\u0000${s.frame ?? ''}\u0000${s.size}\u0000${s.mtimeMs}${s.missingRescale ? `\u0000${JSON.stringify(s.missingRescale)}` : ''}\n`);
    return hash.digest('hex');
  }

  private file(key: string): string {
    return join(this.dir, key.slice(0, 2), `${key}.slices`);
  }

  /** The cached slices, or undefined (a missing or unreadable entry is a miss). */
  async get(key: string): Promise<Slice[] | undefined> {
    let buffer: Buffer;
    try {
      buffer = await readFile(this.file(key));
    } catch {
      this.misses++;
      return undefined;
    }
    try {
      const slices = decodeCacheEntry(buffer);
      this.hits++;
      if (this.maxBytes !== undefined) this.touch(this.file(key));
      return slices;
    } catch (error) {
      log.warn(`ignoring corrupt cache entry ${this.file(key)}: ${(error as Error).message}`);
      this.misses++;
      return undefined;
    }
  }

  put(key: string, slices: readonly Slice[]): void {
    const file = this.file(key);
    const bytes = encodeCacheEntry(slices, this.precision);
    writeFileAtomic(file, bytes);
    if (this.maxBytes === undefined) return;
    const entries = this.knownEntries();
    this.totalBytes += bytes.byteLength - (entries.get(file)?.bytes ?? 0);
    entries.set(file, { bytes: bytes.byteLength, used: Date.now() });
    if (this.totalBytes > this.maxBytes) this.evict(0.9 * this.maxBytes);
  }

  /** A hit's file gets a fresh mtime: eviction goes by mtime, so other processes sharing the folder see the use too. */
  private touch(file: string): void {
    const now = new Date();
    try {
      utimesSync(file, now, now);
    } catch {
      return; // evicted meanwhile by another process sharing the folder
    }
    const entry = this.entries?.get(file);
    if (entry) entry.used = now.getTime();
  }

  private knownEntries(): Map<string, { bytes: number; used: number }> {
    if (this.entries) return this.entries;
    this.entries = new Map();
    let names: string[] = [];
    try {
      names = readdirSync(this.dir, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.slices'));
    } catch {
      // no folder yet
    }
    for (const name of names) {
      const file = join(this.dir, name);
      try {
        const stat = statSync(file);
        this.entries.set(file, { bytes: stat.size, used: stat.mtimeMs });
        this.totalBytes += stat.size;
      } catch {
        // removed meanwhile
      }
    }
    return this.entries;
  }

  private evict(target: number): void {
    const entries = this.knownEntries();
    const oldestFirst = [...entries].sort((a, b) => a[1].used - b[1].used);
    for (const [file, { bytes }] of oldestFirst) {
      if (this.totalBytes <= target) break;
      rmSync(file, { force: true });
      entries.delete(file);
      this.totalBytes -= bytes;
      this.evicted++;
    }
    log.debug(`slice cache ${this.dir}: evicted down to ${(this.totalBytes / 2 ** 20).toFixed(1)} MiB (limit ${(this.maxBytes! / 2 ** 20).toFixed(1)} MiB)`);
  }
}

/** The smallest form `data` can be stored in under `precision` (see CachedForm). */
export function cachedForm(data: Float32Array, precision: CachePrecision): CachedForm {
  let unit = true;
  for (let i = 0; i < data.length; i++) {
    const value = data[i];
    const k = Math.round(value * 255);
    // k / 255 exactly as float32, and not −0 (which would read back as +0).
    if (!(k >= 0 && k <= 255 && UNIT_STEPS[k] === value) || (k === 0 && Object.is(value, -0))) {
      unit = false;
      break;
    }
  }
  if (unit) return 'uint8';
  if (precision === 'float16') {
    for (let i = 0; i < data.length; i++) if (!(Math.abs(data[i]) <= 65504)) return 'float32';
    return 'float16';
  }
  return 'float32';
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half-precision bits of a float32 value within ±65504, rounded to nearest, ties to even. */
export function toFloat16Bits(value: number): number {
  f32[0] = value;
  const bits = u32[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  let mantissa = bits & 0x7fffff;
  if (exponent < 102) return sign; // at most half the smallest subnormal (2^-25): ±0
  if (exponent < 113) {
    // Subnormal half: the implicit bit joins the mantissa, shifted right with round to nearest even.
    mantissa |= 0x800000;
    const shift = 126 - exponent;
    const half = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const midpoint = 1 << (shift - 1);
    return sign | (half + (rest > midpoint || (rest === midpoint && (half & 1)) ? 1 : 0));
  }
  const half = ((exponent - 112) << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  // A carry out of the mantissa moves into the exponent, which is the correctly rounded result.
  return sign | (half + (rest > 0x1000 || (rest === 0x1000 && (half & 1)) ? 1 : 0));
}

/** The float value of half-precision bits. */
export function fromFloat16Bits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa ? Number.NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** One cache entry's bytes (exported for the benchmarks' bytes-per-slice figures). */
export function encodeCacheEntry(slices: readonly Slice[], precision: CachePrecision = 'lossless'): Uint8Array {
  const forms = slices.map((slice) => cachedForm(slice.data, precision));
  const header: EntryHeader = {
    version: ENTRY_VERSION,
    slices: slices.map(({ rows, cols, channels, meta }, i) => ({ rows, cols, channels, meta, form: forms[i] })),
  };
  let json = JSON.stringify(header);
  json += ' '.repeat((4 - ((4 + Buffer.byteLength(json)) % 4)) % 4);
  const jsonBytes = Buffer.from(json);
  const dataBytes = slices.reduce((sum, s, i) => sum + s.data.length * BYTES[forms[i]], 0);
  const out = Buffer.alloc(4 + jsonBytes.length + dataBytes);
  out.writeUInt32LE(jsonBytes.length, 0);
  jsonBytes.copy(out, 4);
  let offset = 4 + jsonBytes.length;
  slices.forEach(({ data }, i) => {
    if (forms[i] === 'uint8') {
      for (let j = 0; j < data.length; j++) out[offset + j] = Math.round(data[j] * 255);
    } else if (forms[i] === 'float16') {
      for (let j = 0; j < data.length; j++) out.writeUInt16LE(toFloat16Bits(data[j]), offset + 2 * j);
    } else {
      out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), offset);
    }
    offset += data.length * BYTES[forms[i]];
  });
  return out;
}

/** The slices of an entry; throws on an unknown version, an unknown form or a short file (the caller rebuilds). */
export function decodeCacheEntry(buffer: Buffer): Slice[] {
  const headerLength = buffer.readUInt32LE(0);
  const header = JSON.parse(buffer.subarray(4, 4 + headerLength).toString('utf8')) as EntryHeader;
  if (!READABLE_ENTRY_VERSIONS.has(header.version)) throw new Error(`format version ${header.version}, expected one of ${[...READABLE_ENTRY_VERSIONS].join(', ')}`);
  let offset = 4 + headerLength;
  return header.slices.map(({ rows, cols, channels, meta, form = 'float32' }) => {
    if (!(form in BYTES)) throw new Error(`unknown stored form '${form}'`);
    const length = rows * cols * channels;
    const bytes = length * BYTES[form];
    if (offset + bytes > buffer.length) throw new Error('truncated');
    const data = new Float32Array(length);
    if (form === 'uint8') {
      for (let j = 0; j < length; j++) data[j] = UNIT_STEPS[buffer[offset + j]];
    } else if (form === 'float16') {
      for (let j = 0; j < length; j++) data[j] = fromFloat16Bits(buffer.readUInt16LE(offset + 2 * j));
    } else {
      // Copy out: a Buffer from readFile may sit at an offset that is not a multiple of 4.
      new Uint8Array(data.buffer).set(buffer.subarray(offset, offset + bytes));
    }
    offset += bytes;
    return { rows, cols, channels, data, meta };
  });
}
