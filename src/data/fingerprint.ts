import { createHash, type Hash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { dirname, relative, resolve, sep } from 'node:path';
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
 * Modification times are not hashed: copying or moving data keeps its fingerprint.
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

/** Every file's digest, in order, yielding to the event loop every {@link BATCH} files. */
async function fileDigests(paths: readonly string[]): Promise<string[]> {
  const buffer = Buffer.allocUnsafe(WHOLE_FILE_BYTES);
  const digests: string[] = [];
  for (let i = 0; i < paths.length; i++) {
    if (i > 0 && i % BATCH === 0) await new Promise((resume) => setImmediate(resume));
    digests.push(fileDigest(paths[i], buffer));
  }
  return digests;
}

/** The deepest folder holding every path (the dataset's own folder, wherever it is mounted). */
function commonFolder(paths: readonly string[]): string {
  if (paths.length === 0) return '';
  let common = dirname(paths[0]);
  for (const path of paths) {
    while (common !== dirname(common) && !(path.startsWith(common + sep) || path === common)) common = dirname(common);
  }
  return common;
}

export interface FingerprintOptions {
  /** Include targets, slice targets and mask files (a run's data); without, only ids and slice files (embeddings). */
  labels?: boolean;
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
    const files = new Set<string>();
    for (const p of patients) {
      for (const s of p.slices) files.add(resolve(s.path));
      if (options.labels) for (const m of p.sliceMasks ?? []) for (const path of m.paths) files.add(resolve(path));
    }
    const paths = [...files];
    const digests = await fileDigests(paths);
    const digestOf = new Map(paths.map((path, i) => [path, digests[i]]));
    const root = commonFolder(paths);
    const describe = (path: string, frame: number | undefined) => {
      const absolute = resolve(path);
      return `${relative(root, absolute).split(sep).join('/')}#${frame ?? ''}@${digestOf.get(absolute)}`;
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
