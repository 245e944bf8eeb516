import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic.ts';
import { log } from '../core/log.ts';
import type { Slice, SliceMeta } from './types.ts';

const CACHE_FORMAT_VERSION = 1;

/** What a cache key is made of: each source file's identity (path, frame, size, mtime) and the preprocessing fingerprint. */
export interface CacheSource {
  path: string;
  frame?: number;
  size: number;
  mtimeMs: number;
}

interface EntryHeader {
  version: number;
  slices: Array<{ rows: number; cols: number; channels: number; meta: SliceMeta }>;
}

/**
 * On-disk cache of a patient's decoded, deterministically preprocessed slices, so later epochs skip decoding.
 * An entry is keyed by its sources' paths, sizes and mtimes plus the preprocessing fingerprint: a changed file or
 * a changed transform misses and is rebuilt; random augmentation runs after the cache and never enters it.
 * Entry layout: uint32 header length, JSON header (slice shapes and metadata, padded to 4 bytes), float32 data.
 */
export class SliceCache {
  hits = 0;
  misses = 0;

  constructor(readonly dir: string) {}

  key(fingerprint: string, sources: readonly CacheSource[]): string {
    const hash = createHash('sha1').update(`v${CACHE_FORMAT_VERSION}\u0000${fingerprint}\n`);
    for (const s of sources) hash.update(`${s.path}\u0000${s.frame ?? ''}\u0000${s.size}\u0000${s.mtimeMs}\n`);
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
      const slices = decodeEntry(buffer);
      this.hits++;
      return slices;
    } catch (error) {
      log.warn(`ignoring corrupt cache entry ${this.file(key)}: ${(error as Error).message}`);
      this.misses++;
      return undefined;
    }
  }

  put(key: string, slices: readonly Slice[]): void {
    writeFileAtomic(this.file(key), encodeEntry(slices));
  }
}

function encodeEntry(slices: readonly Slice[]): Uint8Array {
  const header: EntryHeader = {
    version: CACHE_FORMAT_VERSION,
    slices: slices.map(({ rows, cols, channels, meta }) => ({ rows, cols, channels, meta })),
  };
  let json = JSON.stringify(header);
  json += ' '.repeat((4 - ((4 + Buffer.byteLength(json)) % 4)) % 4);
  const jsonBytes = Buffer.from(json);
  const dataBytes = slices.reduce((sum, s) => sum + s.data.byteLength, 0);
  const out = Buffer.alloc(4 + jsonBytes.length + dataBytes);
  out.writeUInt32LE(jsonBytes.length, 0);
  jsonBytes.copy(out, 4);
  let offset = 4 + jsonBytes.length;
  for (const slice of slices) {
    out.set(new Uint8Array(slice.data.buffer, slice.data.byteOffset, slice.data.byteLength), offset);
    offset += slice.data.byteLength;
  }
  return out;
}

function decodeEntry(buffer: Buffer): Slice[] {
  const headerLength = buffer.readUInt32LE(0);
  const header = JSON.parse(buffer.subarray(4, 4 + headerLength).toString('utf8')) as EntryHeader;
  if (header.version !== CACHE_FORMAT_VERSION) throw new Error(`format version ${header.version}, expected ${CACHE_FORMAT_VERSION}`);
  let offset = 4 + headerLength;
  return header.slices.map(({ rows, cols, channels, meta }) => {
    const length = rows * cols * channels;
    if (offset + length * 4 > buffer.length) throw new Error('truncated');
    // Copy out: a Buffer from readFile may sit at an offset that is not a multiple of 4.
    const data = new Float32Array(length);
    new Uint8Array(data.buffer).set(buffer.subarray(offset, offset + length * 4));
    offset += length * 4;
    return { rows, cols, channels, data, meta };
  });
}
