import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readJson } from '../../core/json.ts';
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { homedir } from 'node:os';
import fg from 'fast-glob';
import { writeFileAtomic } from '../../core/atomic.ts';
import { log } from '../../core/log.ts';
import { Progress } from '../../core/progress.ts';
import { mapLimit } from '../map-limit.ts';
import type { SliceMeta } from '../types.ts';
import { DataFileError } from '../readers/errors.ts';
import type { MetaReader } from './types.ts';

/** The header fields a dataset needs to group and order slices. */
export type ScanMeta = Pick<
  SliceMeta,
  'studyInstanceUid' | 'seriesInstanceUid' | 'sopInstanceUid' | 'instanceNumber' | 'imagePosition' | 'imageOrientation'
>;

export interface FileEntry {
  path: string;
  size: number;
  mtimeMs: number;
}

/** A file and its headers (one per slice: several for a volume), or why they could not be read. */
export interface ScannedFile extends FileEntry {
  metas?: ScanMeta[];
  error?: string;
}

/** One slice of a scanned file: `frame` is set for files holding several slices (volumes). */
export interface ScannedSlice {
  path: string;
  frame?: number;
  meta: ScanMeta;
}

/** The slices of a readable file. */
export function slicesOf(file: ScannedFile): ScannedSlice[] {
  const metas = file.metas ?? [];
  return metas.map((meta, frame) => ({ path: file.path, ...(metas.length > 1 ? { frame } : {}), meta }));
}

/** Lists files under `dir` matching glob `patterns` (relative), with size and mtime, sorted by path. */
export async function listFiles(dir: string, patterns: string[]): Promise<FileEntry[]> {
  const entries = await fg(patterns, { cwd: dir, absolute: true, onlyFiles: true, stats: true, caseSensitiveMatch: false });
  return entries
    .map((entry) => ({ path: entry.path, size: entry.stats!.size, mtimeMs: entry.stats!.mtimeMs }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Stats named files; a file that cannot be stat'ed comes back with `error`. */
export async function statFiles(paths: string[]): Promise<Array<FileEntry & { error?: string }>> {
  return mapLimit(paths, 32, async (path) => {
    try {
      const info = await stat(path);
      if (!info.isFile()) return { path, size: 0, mtimeMs: 0, error: 'not a file' };
      return { path, size: info.size, mtimeMs: info.mtimeMs };
    } catch (error) {
      return { path, size: 0, mtimeMs: 0, error: (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (error as Error).message };
    }
  });
}

/** `$SLICESEQ_CACHE`, else `$XDG_CACHE_HOME/sliceseq`, else `~/.cache/sliceseq`. */
export function defaultCacheDir(): string {
  if (process.env.SLICESEQ_CACHE) return resolve(process.env.SLICESEQ_CACHE);
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'sliceseq');
}

/**
 * 3: DICOM headers are refused when their pixel data is missing, cut off or too short. 4: a multi-frame DICOM gives
 * one entry per frame; CT without rescale tags and sample sizes the reader cannot decode are refused.
 */
/**
 * Where a dataset's header-scan index goes: the dataset config's own `cacheDir`, else the caller's (an
 * experiment's `data.indexDir`, `inspect --index-dir`), else defaultCacheDir(); `null` at either level: no index.
 */
export function scanIndexDir(own: string | null | undefined, caller: string | null | undefined): string | null {
  if (own !== undefined) return own;
  if (caller !== undefined) return caller;
  return defaultCacheDir();
}

const SCAN_INDEX_VERSION = 4;

/**
 * On disk, one compact row per file (a real RSNA train set has 750k): path, size, mtime, error, then per slice
 * indices into a string table for the UIDs and orientation (shared by many files), instance number, position.
 */
type IndexSlice = [number, number, number, number | null, [number, number, number] | null, number];
type IndexRow = [string, number, number, string | null, IndexSlice[]];

interface ScanIndex {
  version: number;
  key: string;
  strings: string[];
  rows: IndexRow[];
}

function scanKey(entries: readonly FileEntry[]): string {
  const hash = createHash('sha1');
  for (const entry of entries) hash.update(`${entry.path}\u0000${entry.size}\u0000${entry.mtimeMs}\n`);
  return hash.digest('hex');
}

function encodeIndex(key: string, files: readonly ScannedFile[]): ScanIndex {
  const strings: string[] = [];
  const ids = new Map<string, number>();
  const intern = (value: string | undefined) => {
    if (value === undefined) return -1;
    let id = ids.get(value);
    if (id === undefined) {
      id = strings.push(value) - 1;
      ids.set(value, id);
    }
    return id;
  };
  const rows = files.map((file): IndexRow => [
    file.path,
    file.size,
    file.mtimeMs,
    file.error ?? null,
    (file.metas ?? []).map((meta): IndexSlice => [
      intern(meta.studyInstanceUid),
      intern(meta.seriesInstanceUid),
      intern(meta.sopInstanceUid),
      meta.instanceNumber ?? null,
      meta.imagePosition ?? null,
      intern(meta.imageOrientation ? JSON.stringify(meta.imageOrientation) : undefined),
    ]),
  ]);
  return { version: SCAN_INDEX_VERSION, key, strings, rows };
}

function decodeIndex(index: ScanIndex): Map<string, ScannedFile> {
  const str = (id: number) => (id >= 0 ? index.strings[id] : undefined);
  const decodeSlice = ([study, series, sop, instance, position, orientation]: IndexSlice): ScanMeta => {
    const meta: ScanMeta = {};
    if (study >= 0) meta.studyInstanceUid = str(study);
    if (series >= 0) meta.seriesInstanceUid = str(series);
    if (sop >= 0) meta.sopInstanceUid = str(sop);
    if (instance !== null) meta.instanceNumber = instance;
    if (position !== null) meta.imagePosition = position;
    if (orientation >= 0) meta.imageOrientation = JSON.parse(str(orientation)!);
    return meta;
  };
  const files = new Map<string, ScannedFile>();
  for (const [path, size, mtimeMs, error, slices] of index.rows) {
    files.set(path, error !== null ? { path, size, mtimeMs, error } : { path, size, mtimeMs, metas: slices.map(decodeSlice) });
  }
  return files;
}

function pickScanMeta(meta: SliceMeta): ScanMeta {
  const { studyInstanceUid, seriesInstanceUid, sopInstanceUid, instanceNumber, imagePosition, imageOrientation } = meta;
  const picked: ScanMeta = { studyInstanceUid, seriesInstanceUid, sopInstanceUid, instanceNumber, imagePosition, imageOrientation };
  for (const key of Object.keys(picked) as Array<keyof ScanMeta>) if (picked[key] === undefined) delete picked[key];
  return picked;
}

export interface ScanOptions {
  readMeta: MetaReader;
  /** Folder for the index; `null` scans without one. */
  cacheDir: string | null;
  /** What the index belongs to (e.g. the image folder): one index file per scope. */
  scope: string;
  /** Reader options that change what a header read gives (types.ts `readerVariant`): each has its own index. */
  variant?: string;
  concurrency?: number;
}

export interface ScanResult {
  files: ScannedFile[];
  /** Headers taken from the index vs read from the files this time. */
  fromIndex: number;
  read: number;
  indexPath?: string;
}

/**
 * Reads every file's header once and remembers it: the index (in `cacheDir`, one per scope) keeps each file's
 * header fields with its size and mtime, so a later scan re-reads only new or changed files; when the file list,
 * sizes and mtimes all match (the same key), the index is used as is. Unreadable files are kept with their error.
 */
export async function scanHeaders(entries: readonly FileEntry[], options: ScanOptions): Promise<ScanResult> {
  const key = scanKey(entries);
  const indexPath = options.cacheDir
    ? join(options.cacheDir, `scan-${createHash('sha1').update(resolve(options.scope) + (options.variant ? `\u0000${options.variant}` : '')).digest('hex').slice(0, 16)}.json`)
    : undefined;
  let previous = new Map<string, ScannedFile>();
  if (indexPath && existsSync(indexPath)) {
    try {
      const index = readJson(indexPath) as ScanIndex;
      if (index.version === SCAN_INDEX_VERSION) {
        previous = decodeIndex(index);
        if (index.key === key) return { files: entries.map((e) => previous.get(e.path)!), fromIndex: entries.length, read: 0, indexPath };
      }
    } catch (error) {
      log.warn(`ignoring unreadable scan index ${indexPath}: ${(error as Error).message}`);
    }
  }
  const reuse = (entry: FileEntry) => {
    const known = previous.get(entry.path);
    return known && known.size === entry.size && known.mtimeMs === entry.mtimeMs ? known : undefined;
  };
  const toRead = entries.filter((entry) => !reuse(entry)).length;
  const progress = toRead >= 2000 ? new Progress({ label: 'reading headers', total: toRead, unit: 'file' }) : undefined;
  const files = await mapLimit(entries, options.concurrency ?? 16, async (entry): Promise<ScannedFile> => {
    const known = reuse(entry);
    if (known) return known;
    progress?.tick();
    try {
      const metas = await options.readMeta(entry.path);
      if (metas.length === 0) return { ...entry, error: 'holds no slices' };
      return { ...entry, metas: metas.map(pickScanMeta) };
    } catch (error) {
      // Reader errors start with the path (DataFileError); keep only the reason, the path is stored beside it.
      const reason = error instanceof DataFileError ? error.reason : (error as Error).message;
      return { ...entry, error: reason.split('\n')[0] };
    }
  });
  progress?.finish();
  if (indexPath) writeFileAtomic(indexPath, JSON.stringify(encodeIndex(key, files)));
  return { files, fromIndex: entries.length - toRead, read: toRead, indexPath };
}
