import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { SliceMeta } from '../types.ts';

/**
 * The header-scan index on disk: the one module that writes it and reads it back.
 *
 * Format 6 is binary, in typed columns (a real RSNA train set has 752,803 files; the JSON of format 5 was 106 MB,
 * and JSON.parse built its whole object graph, a few hundred MB of the warm start's peak RSS):
 *
 *   "SLSQIDX\n" · u32 header length · header JSON (version, key, complete, counts, sha1 of the body) · padding to 8
 *   body, each section padded to 8 bytes:
 *     stringEnds u32[strings] (byte end of each string in the blob) · paths i32[files] (string ids)
 *     errors i32[files] (string id or -1) · sliceStarts u32[files + 1] · studies, series, sops, orientations
 *     i32[slices] (string ids or -1) · sizes, mtimes f64[files] · instances f64[slices] · positions f64[3 × slices]
 *     (NaN: absent) · the strings' UTF-8 bytes
 *
 * The file is read with one readFileSync; a file cut short, of another version, or whose body does not hash to the
 * header's sha1 is refused (the scan rebuilds it, with a warning), never misread. Format 5 (JSON, the same columns)
 * is still read, so an index written before is reused rather than every header read again.
 *
 * Versions: 3: DICOM headers are refused when their pixel data is missing, cut off or too short. 4: a multi-frame
 * DICOM gives one entry per frame; CT without rescale tags and sample sizes the reader cannot decode are refused.
 * 5: compact JSON columns (was one nested array per file). 6: binary. Versions before 5 are rebuilt.
 */

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

export const SCAN_INDEX_VERSION = 6;
const MAGIC = Buffer.from('SLSQIDX\n', 'latin1');

/** An index read back, whichever format: string ids index `string`; -1 (ids) and NaN or null (values) are absent. */
interface IndexColumns {
  key: string;
  complete: boolean;
  files: number;
  strings: number;
  string(id: number): string;
  path(f: number): string;
  sizes: ArrayLike<number>;
  mtimes: ArrayLike<number>;
  errors: ArrayLike<number>;
  sliceStarts: ArrayLike<number>;
  studies: ArrayLike<number>;
  series: ArrayLike<number>;
  sops: ArrayLike<number>;
  orientations: ArrayLike<number>;
  instances: ArrayLike<number | null>;
  positions: ArrayLike<number | null>;
}

interface Header {
  version: number;
  key: string;
  complete: boolean;
  files: number;
  slices: number;
  strings: number;
  stringBytes: number;
  sha1: string;
}

const pad8 = (n: number) => (n + 7) & ~7;

/** The byte length of each body section, in order (the blob last). */
function sectionBytes(header: Pick<Header, 'files' | 'slices' | 'strings' | 'stringBytes'>): number[] {
  const { files, slices, strings, stringBytes } = header;
  return [4 * strings, 4 * files, 4 * files, 4 * (files + 1), 4 * slices, 4 * slices, 4 * slices, 4 * slices, 8 * files, 8 * files, 8 * slices, 24 * slices, stringBytes];
}

/** The index file's bytes for `files` (skipping holes: a checkpoint's files not yet read). */
export function encodeScanIndex(key: string, complete: boolean, files: ReadonlyArray<ScannedFile | undefined>): Buffer {
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
  const present = files.filter((file): file is ScannedFile => file !== undefined);
  const slices = present.reduce((sum, file) => sum + (file.metas?.length ?? 0), 0);
  const paths = new Int32Array(present.length);
  const errors = new Int32Array(present.length);
  const sliceStarts = new Uint32Array(present.length + 1);
  const sizes = new Float64Array(present.length);
  const mtimes = new Float64Array(present.length);
  const [studies, series, sops, orientations] = [0, 1, 2, 3].map(() => new Int32Array(slices));
  const instances = new Float64Array(slices).fill(NaN);
  const positions = new Float64Array(3 * slices).fill(NaN);
  let s = 0;
  present.forEach((file, f) => {
    paths[f] = intern(file.path);
    errors[f] = intern(file.error);
    sizes[f] = file.size;
    mtimes[f] = file.mtimeMs;
    sliceStarts[f] = s;
    for (const meta of file.metas ?? []) {
      studies[s] = intern(meta.studyInstanceUid);
      series[s] = intern(meta.seriesInstanceUid);
      sops[s] = intern(meta.sopInstanceUid);
      orientations[s] = intern(meta.imageOrientation ? JSON.stringify(meta.imageOrientation) : undefined);
      if (meta.instanceNumber !== undefined) instances[s] = meta.instanceNumber;
      if (meta.imagePosition) positions.set(meta.imagePosition, 3 * s);
      s++;
    }
  });
  sliceStarts[present.length] = s;
  const blob = Buffer.from(strings.join(''), 'utf8');
  const stringEnds = new Uint32Array(strings.length);
  let end = 0;
  strings.forEach((value, i) => (stringEnds[i] = end += Buffer.byteLength(value, 'utf8')));
  const sections: Uint8Array[] = [stringEnds, paths, errors, sliceStarts, studies, series, sops, orientations, sizes, mtimes, instances, positions, blob].map(
    (column) => new Uint8Array(column.buffer, column.byteOffset, column.byteLength),
  );
  const body = Buffer.alloc(sections.reduce((sum, section) => sum + pad8(section.byteLength), 0));
  let at = 0;
  for (const section of sections) {
    body.set(section, at);
    at += pad8(section.byteLength);
  }
  const header: Header = {
    version: SCAN_INDEX_VERSION, key, complete, files: present.length, slices, strings: strings.length, stringBytes: blob.length,
    sha1: createHash('sha1').update(body).digest('hex'),
  };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(pad8(MAGIC.length + 4 + headerBytes.length));
  MAGIC.copy(prefix);
  prefix.writeUInt32LE(headerBytes.length, MAGIC.length);
  headerBytes.copy(prefix, MAGIC.length + 4);
  return Buffer.concat([prefix, body]);
}

function damaged(what: string): never {
  throw new Error(`damaged index: ${what}`);
}

/** Reads a format-6 file; undefined for an index of another version (rebuilt); throws for a damaged one. */
function readBinary(bytes: Buffer): IndexColumns | undefined {
  if (bytes.length < MAGIC.length + 4 || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) damaged('not a sliceseq scan index');
  const headerLength = bytes.readUInt32LE(MAGIC.length);
  const bodyStart = pad8(MAGIC.length + 4 + headerLength);
  if (bodyStart > bytes.length) damaged('cut short in its header');
  let header: Header;
  try {
    header = JSON.parse(bytes.toString('utf8', MAGIC.length + 4, MAGIC.length + 4 + headerLength));
  } catch {
    damaged('unreadable header');
  }
  if (header?.version !== SCAN_INDEX_VERSION) return undefined;
  const counts = [header.files, header.slices, header.strings, header.stringBytes];
  if (typeof header.key !== 'string' || typeof header.complete !== 'boolean' || typeof header.sha1 !== 'string' || !counts.every((n) => Number.isInteger(n) && n >= 0)) damaged('header fields');
  const lengths = sectionBytes(header);
  const expected = bodyStart + lengths.reduce((sum, n) => sum + pad8(n), 0);
  if (bytes.length !== expected) damaged(`${bytes.length} bytes, not the header's ${expected}`);
  const body = bytes.subarray(bodyStart);
  if (createHash('sha1').update(body).digest('hex') !== header.sha1) damaged('its content does not match its checksum');
  // Typed views need aligned offsets: the body is, when the buffer is (a file this size has its own allocation).
  const aligned = body.byteOffset % 8 === 0 ? body : Buffer.from(body);
  let at = 0;
  const next = <T>(make: (buffer: ArrayBufferLike, offset: number, length: number) => T, width: number, i: number): T => {
    const view = make(aligned.buffer, aligned.byteOffset + at, lengths[i] / width);
    at += pad8(lengths[i]);
    return view;
  };
  const i32 = (b: ArrayBufferLike, o: number, n: number) => new Int32Array(b, o, n);
  const u32 = (b: ArrayBufferLike, o: number, n: number) => new Uint32Array(b, o, n);
  const f64 = (b: ArrayBufferLike, o: number, n: number) => new Float64Array(b, o, n);
  const stringEnds = next(u32, 4, 0);
  const [paths, errors] = [next(i32, 4, 1), next(i32, 4, 2)];
  const sliceStarts = next(u32, 4, 3);
  const [studies, series, sops, orientations] = [4, 5, 6, 7].map((i) => next(i32, 4, i));
  const [sizes, mtimes, instances, positions] = [8, 9, 10, 11].map((i) => next(f64, 8, i));
  const blob = aligned.subarray(at, at + header.stringBytes);
  // One string object per id, however many slices share it (a study's UID, an orientation).
  const decoded = new Array<string | undefined>(header.strings);
  const string = (id: number) => (decoded[id] ??= blob.toString('utf8', id > 0 ? stringEnds[id - 1] : 0, stringEnds[id]));
  const columns: IndexColumns = {
    key: header.key, complete: header.complete, files: header.files, strings: header.strings, string, path: (f) => string(paths[f]),
    sizes, mtimes, errors, sliceStarts, studies, series, sops, orientations, instances, positions,
  };
  for (let i = 0, last = 0; i < header.strings; i++) {
    if (stringEnds[i] < last || stringEnds[i] > header.stringBytes) damaged(`string ${i}`);
    last = stringEnds[i];
  }
  for (let f = 0; f < header.files; f++) if (!(paths[f] >= 0 && paths[f] < header.strings)) damaged(`path of file ${f}`);
  checkColumns(columns, header.slices);
  return columns;
}

/** Format 5: the same columns as JSON arrays (null: absent), paths as strings. */
interface LegacyIndex {
  version: number;
  key: string;
  complete: boolean;
  strings: string[];
  paths: string[];
  sizes: number[];
  mtimes: number[];
  errors: number[];
  sliceStarts: number[];
  studies: number[];
  series: number[];
  sops: number[];
  orientations: number[];
  instances: Array<number | null>;
  positions: Array<number | null>;
}

/** Reads a format-5 (JSON) index; undefined for another version; throws for a damaged one. */
function readLegacyJson(bytes: Buffer): IndexColumns | undefined {
  let index: LegacyIndex;
  try {
    index = JSON.parse(bytes.toString('utf8'));
  } catch {
    damaged('neither a sliceseq scan index nor JSON');
  }
  if (index?.version !== 5) return undefined;
  if (typeof index.key !== 'string' || !Array.isArray(index.strings) || !Array.isArray(index.paths)) damaged('no key or string table');
  const files = index.paths.length;
  for (const column of ['sizes', 'mtimes', 'errors'] as const) if (!Array.isArray(index[column]) || index[column].length !== files) damaged(`column ${column}`);
  if (!Array.isArray(index.sliceStarts) || index.sliceStarts.length !== files + 1) damaged('column sliceStarts');
  const slices = index.sliceStarts[files];
  for (const column of ['studies', 'series', 'sops', 'orientations', 'instances'] as const) if (!Array.isArray(index[column]) || index[column].length !== slices) damaged(`column ${column}`);
  if (!Array.isArray(index.positions) || index.positions.length !== 3 * slices) damaged('column positions');
  for (let f = 0; f < files; f++) if (typeof index.paths[f] !== 'string' || typeof index.sizes[f] !== 'number' || typeof index.mtimes[f] !== 'number') damaged(`file ${f}`);
  const columns: IndexColumns = { ...index, complete: index.complete === true, files, strings: index.strings.length, string: (id: number) => index.strings[id], path: (f: number) => index.paths[f] };
  checkColumns(columns, slices);
  return columns;
}

/** Throws unless every string id is in the table and each file's slices are a range of the slice columns. */
function checkColumns(index: IndexColumns, slices: number): void {
  const isId = (id: number) => Number.isInteger(id) && id >= -1 && id < index.strings;
  if (index.sliceStarts[index.files] !== slices) damaged('column sliceStarts');
  for (let f = 0; f < index.files; f++) {
    const start = index.sliceStarts[f];
    if (!isId(index.errors[f])) damaged(`file ${f}`);
    if (!(Number.isInteger(start) && start >= 0 && start <= index.sliceStarts[f + 1])) damaged(`slices of file ${f}`);
  }
  for (let s = 0; s < slices; s++) {
    if (!isId(index.studies[s]) || !isId(index.series[s]) || !isId(index.sops[s]) || !isId(index.orientations[s])) damaged(`slice ${s}`);
  }
}

export interface StoredScan {
  key: string;
  /** False in a checkpoint written during a scan: its files are reused one by one, its key never matches. */
  complete: boolean;
  files: ScannedFile[];
}

/**
 * The index in `file` (format 6, or format 5 JSON), its files in its order; undefined when it is of another
 * version (the caller rebuilds it). Throws, naming what is wrong, when it is damaged.
 */
export function readScanIndex(file: string): StoredScan | undefined {
  const bytes = readFileSync(file);
  const index = bytes.subarray(0, MAGIC.length).equals(MAGIC) ? readBinary(bytes) : readLegacyJson(bytes);
  if (!index) return undefined;
  const present = (value: number | null) => value !== null && !Number.isNaN(value);
  const orientations = new Map<number, ScanMeta['imageOrientation']>();
  const orientation = (id: number) => {
    if (!orientations.has(id)) orientations.set(id, JSON.parse(index.string(id)));
    return orientations.get(id);
  };
  const files: ScannedFile[] = new Array(index.files);
  for (let f = 0; f < index.files; f++) {
    const [path, size, mtimeMs, error] = [index.path(f), index.sizes[f], index.mtimes[f], index.errors[f]];
    if (error >= 0) {
      files[f] = { path, size, mtimeMs, error: index.string(error) };
      continue;
    }
    const metas: ScanMeta[] = [];
    for (let s = index.sliceStarts[f]; s < index.sliceStarts[f + 1]; s++) {
      const meta: ScanMeta = {};
      if (index.studies[s] >= 0) meta.studyInstanceUid = index.string(index.studies[s]);
      if (index.series[s] >= 0) meta.seriesInstanceUid = index.string(index.series[s]);
      if (index.sops[s] >= 0) meta.sopInstanceUid = index.string(index.sops[s]);
      if (present(index.instances[s])) meta.instanceNumber = index.instances[s]!;
      if (present(index.positions[3 * s])) meta.imagePosition = [index.positions[3 * s]!, index.positions[3 * s + 1]!, index.positions[3 * s + 2]!];
      // One array per distinct orientation, shared by its slices (readers never change it).
      if (index.orientations[s] >= 0) meta.imageOrientation = orientation(index.orientations[s]);
      metas.push(meta);
    }
    files[f] = { path, size, mtimeMs, metas };
  }
  return { key: index.key, complete: index.complete, files };
}
