import { createHash } from 'node:crypto';
import { readdirSync, rmSync, statSync, utimesSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic.ts';
import { log } from '../core/log.ts';
import type { Slice, SliceMeta } from './types.ts';
import type { MissingRescale } from './readers/dicom.ts';

const CACHE_FORMAT_VERSION = 1;

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
  evicted = 0;
  /** Entry files and their size and last use, read from disk on the first `put` when the cache has a size limit. */
  private entries: Map<string, { bytes: number; used: number }> | undefined;
  private totalBytes = 0;

  /** `maxBytes`: once the entries pass it, the least recently used ones are deleted down to 90% of it. */
  constructor(
    readonly dir: string,
    readonly maxBytes?: number,
  ) {}

  key(fingerprint: string, sources: readonly CacheSource[]): string {
    const hash = createHash('sha1').update(`v${CACHE_FORMAT_VERSION}\u0000${fingerprint}\n`);
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
      const slices = decodeEntry(buffer);
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
    const bytes = encodeEntry(slices);
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
