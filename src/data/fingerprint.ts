import { createHash, type Hash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { writeJsonAtomic } from '../core/atomic.ts';
import type { Patient } from './patients.ts';

/**
 * The one data fingerprint: what runs record and `--resume`, cross-validation and ablations check
 * (experiments/run.ts), and what keys an embeddings cache (experiments/extract.ts). It covers
 *
 * - each patient's id and its slices' paths *relative to the dataset's folder* (the deepest folder holding all its
 *   files) and frames, so the same bytes in another folder or on another mount give the same fingerprint;
 * - each file's contents, sampled: its size, its first {@link HEAD_BYTES} bytes (the whole header of a typical
 *   DICOM, PNG or NIfTI file) and {@link SAMPLES} windows of {@link SAMPLE_BYTES} bytes spread evenly over the rest,
 *   the last ending at the end of the file; a file of at most {@link WHOLE_FILE_BYTES} bytes is hashed whole;
 * - each slice's rule for missing rescale tags, where its dataset sets one (it changes the values read);
 * - with `labels`, the targets, slice targets and mask files (sampled the same way).
 *
 * What it can miss: a change of the same size that touches none of the sampled bytes, i.e. a few pixels edited
 * between the windows of a file larger than {@link WHOLE_FILE_BYTES} (with 32 windows over a 512 × 512 16-bit
 * slice, any edited run longer than about 16 KiB is seen; inverting, rescaling or replacing an image always is).
 * Modification times are not hashed: copying or moving data keeps its fingerprint. With `cacheDir`, a file whose size
 * and modification time are those of an earlier fingerprint is not read again (its digest is kept), so an edit
 * that also restores the file's mtime is not seen there.
 *
 * A fingerprint names its format (`v2:` and 16 hex digits); the earlier form (16 hex digits of absolute paths,
 * ids and targets, no contents) is recognised by {@link fingerprintFormat} so a resume can say what happened.
 */
export const DATA_FINGERPRINT_FORMAT = 2;
const PREFIX = `v${DATA_FINGERPRINT_FORMAT}:`;

const HEAD_BYTES = 8192;
const SAMPLES = 32;
const SAMPLE_BYTES = 512;
const WHOLE_FILE_BYTES = HEAD_BYTES + SAMPLES * SAMPLE_BYTES;
/** Files fingerprinted between two turns of the event loop. */
const BATCH = 256;

/** The format of a recorded fingerprint: 2 for this module's, 1 for the older path-only form, undefined otherwise. */
export function fingerprintFormat(fingerprint: string): number | undefined {
  if (fingerprint.startsWith(PREFIX)) return DATA_FINGERPRINT_FORMAT;
  return /^[0-9a-f]{16}$/.test(fingerprint) ? 1 : undefined;
}

/**
 * Size and sampled bytes of one file, as a short hash; errors name the file. Synchronous reads: a sampled file is a
 * few dozen small reads, which cost ~2 µs each this way against ~50 µs each through the thread pool (measured in
 * bench/fingerprint.ts); the caller yields to the event loop between batches of files.
 */
function fileDigest(path: string, buffer: Buffer): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw new Error(`cannot read ${path} to fingerprint the data: ${(error as Error).message}`);
  }
  try {
    const { size } = fstatSync(fd);
    const hash = createHash('sha256').update(`${size}\n`);
    const read = (position: number, length: number) => {
      let done = 0;
      while (done < length) {
        const count = readSync(fd, buffer, done, length - done, position + done);
        if (count === 0) break;
        done += count;
      }
      hash.update(buffer.subarray(0, done));
    };
    if (size <= WHOLE_FILE_BYTES) {
      read(0, size);
    } else {
      read(0, HEAD_BYTES);
      const step = (size - HEAD_BYTES - SAMPLE_BYTES) / (SAMPLES - 1);
      for (let k = 0; k < SAMPLES; k++) read(HEAD_BYTES + Math.round(k * step), SAMPLE_BYTES);
    }
    return hash.digest('hex').slice(0, 32);
  } finally {
    closeSync(fd);
  }
}

/**
 * What `cacheDir` holds per dataset folder, in columns (a competition-size dataset has 752,803 files): each file's
 * path within the folder, size, mtime and digest; `listed` is the caller's digest of the listing the record was
 * written under (FingerprintOptions `listed`), if it gave one. (Records of the earlier form, one object keyed by
 * path, are still read: their digests are kept for files whose size and mtime match.)
 */
interface DigestRecord {
  format: number;
  listed?: string;
  paths: string[];
  sizes: number[];
  mtimes: number[];
  digests: string[];
}

function readDigestRecord(file: string): DigestRecord | undefined {
  try {
    const record = JSON.parse(readFileSync(file, 'utf8'));
    if (record?.format !== DATA_FINGERPRINT_FORMAT) return undefined;
    if (record.files && typeof record.files === 'object' && !Array.isArray(record.files)) {
      const entries = Object.entries(record.files as Record<string, [number, number, string]>);
      return { format: record.format, paths: entries.map(([path]) => path), sizes: entries.map(([, v]) => v[0]), mtimes: entries.map(([, v]) => v[1]), digests: entries.map(([, v]) => v[2]) };
    }
    const n = record.paths?.length;
    const columns = [record.paths, record.sizes, record.mtimes, record.digests];
    if (!columns.every((column) => Array.isArray(column) && column.length === n)) return undefined;
    if (record.listed !== undefined && typeof record.listed !== 'string') return undefined;
    return record as DigestRecord;
  } catch {
    return undefined; // none yet, or unreadable: every file is read
  }
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Every file's digest, in order, yielding to the event loop every {@link BATCH} files. With `cacheDir`, a file whose
 * size and mtime match the record of an earlier fingerprint keeps its digest unread (so a 750k-file dataset is read
 * once, then only what changed); the record is rewritten when anything changed. When the caller's `listed` digest
 * of the listing (every path, size and mtime, as it stat'ed them moments ago) is the record's and the files are the
 * record's, in order, the record's digests are used as they are, without a stat of each file again.
 */
async function fileDigests(paths: readonly string[], root: string, cacheDir: string | null | undefined, listed: string | undefined): Promise<string[]> {
  const buffer = Buffer.allocUnsafe(WHOLE_FILE_BYTES);
  const recordFile = cacheDir ? join(cacheDir, `digests-${createHash('sha1').update(root).digest('hex').slice(0, 16)}.json`) : undefined;
  if (!recordFile) {
    const digests: string[] = [];
    for (let i = 0; i < paths.length; i++) {
      if (i > 0 && i % BATCH === 0) await new Promise((resume) => setImmediate(resume));
      digests.push(fileDigest(paths[i], buffer));
    }
    return digests;
  }
  const known = readDigestRecord(recordFile);
  const keys = paths.map((path) => within(root, path));
  if (known && listed !== undefined && known.listed === listed && sameStrings(known.paths, keys)) return known.digests;
  const previous = new Map(known?.paths.map((key, i) => [key, i]));
  const record: DigestRecord = { format: DATA_FINGERPRINT_FORMAT, ...(listed !== undefined ? { listed } : {}), paths: keys, sizes: [], mtimes: [], digests: [] };
  let read = 0;
  for (let i = 0; i < paths.length; i++) {
    if (i > 0 && i % BATCH === 0) await new Promise((resume) => setImmediate(resume));
    let info;
    try {
      info = statSync(paths[i]);
    } catch (error) {
      throw new Error(`cannot read ${paths[i]} to fingerprint the data: ${(error as Error).message}`);
    }
    const k = previous.get(keys[i]);
    const digest = k !== undefined && known!.sizes[k] === info.size && known!.mtimes[k] === info.mtimeMs ? known!.digests[k] : (read++, fileDigest(paths[i], buffer));
    record.sizes.push(info.size);
    record.mtimes.push(info.mtimeMs);
    record.digests.push(digest);
  }
  if (read > 0 || !known || known.listed !== listed || !sameStrings(known.paths, keys)) writeJsonAtomic(recordFile, record);
  return record.digests;
}

/** An absolute path as resolve() gives it, without its work when `path` is one already (as scanned paths are). */
function absolutePath(path: string): string {
  return sep === '/' && path.startsWith('/') && !path.includes('/.') && !path.includes('//') && !path.endsWith('/') ? path : resolve(path);
}

/** `path` relative to `root` (both absolute): a slice of it when it is inside. */
function within(root: string, path: string): string {
  return root !== '' && root !== sep && path.startsWith(root) && path[root.length] === sep ? path.slice(root.length + 1) : relative(root, path);
}

/** The deepest folder holding every path (the dataset's own folder, wherever it is mounted). */
function commonFolder(paths: readonly string[]): string {
  if (paths.length === 0) return '';
  let common = dirname(paths[0]);
  let prefix = common + sep;
  for (const path of paths) {
    while (common !== dirname(common) && !(path.startsWith(prefix) || path === common)) prefix = (common = dirname(common)) + sep;
  }
  return common;
}

export interface FingerprintOptions {
  /** Include targets, slice targets and mask files (a run's data); without, only ids and slice files (embeddings). */
  labels?: boolean;
  /**
   * A folder (the header-scan index's) for each file's digest with its size and mtime: later fingerprints re-read
   * only files whose size or mtime changed. Without it every file is read every time.
   */
  cacheDir?: string | null;
  /**
   * Per group, the dataset's digest of its file listing (Dataset `listed`): with `cacheDir`, a record written under
   * the same digest, for the same files, is used without a stat of each file.
   */
  listed?: ReadonlyArray<string | undefined>;
}

function updateTargets(hash: Hash, values: Float32Array): void {
  hash.update(Buffer.from(values.buffer, values.byteOffset, values.byteLength));
}

/**
 * The fingerprint of one or more datasets' patients (e.g. a training set and its external test set), each group's
 * paths taken relative to its own folder. Reads a few KiB of every file (see the module comment).
 */
export async function dataFingerprint(groups: ReadonlyArray<readonly Patient[]>, options: FingerprintOptions = {}): Promise<string> {
  const hash = createHash('sha256').update(`sliceseq data fingerprint ${DATA_FINGERPRINT_FORMAT}${options.labels ? ' labels' : ''}\n`);
  for (const [g, patients] of groups.entries()) {
    // Each distinct file once, in first-seen order, with its place in `paths` (its digest's in `digests`).
    const fileIndex = new Map<string, number>();
    const add = (path: string) => {
      if (!fileIndex.has(path)) fileIndex.set(path, fileIndex.size);
    };
    for (const p of patients) {
      for (const s of p.slices) add(absolutePath(s.path));
      if (options.labels) for (const m of p.sliceMasks ?? []) for (const path of m.paths) add(absolutePath(path));
    }
    const paths = [...fileIndex.keys()];
    const root = commonFolder(paths);
    const digests = await fileDigests(paths, root, options.cacheDir, options.listed?.[g]);
    const describe = (path: string, frame: number | undefined) => {
      const absolute = absolutePath(path);
      const name = within(root, absolute);
      return `${sep === '/' ? name : name.split(sep).join('/')}#${frame ?? ''}@${digests[fileIndex.get(absolute)!]}`;
    };
    hash.update(`group ${g}: ${patients.length} patients\n`);
    for (const p of patients) {
      hash.update(`patient ${JSON.stringify(p.id)}\n`);
      for (const s of p.slices) hash.update(`slice ${JSON.stringify(s.id ?? '')} ${describe(s.path, s.frame)}${s.missingRescale ? ` rescale ${JSON.stringify(s.missingRescale)}` : ''}\n`);
      if (!options.labels) continue;
      for (const m of p.sliceMasks ?? []) hash.update(`mask ${m.paths.map((path) => describe(path, m.frame)).join('|')}\n`);
      if (p.targets) updateTargets(hash.update('targets '), p.targets);
      for (const row of p.sliceTargets ?? []) updateTargets(hash.update('slice targets '), row);
    }
  }
  return PREFIX + hash.digest('hex').slice(0, 16);
}
