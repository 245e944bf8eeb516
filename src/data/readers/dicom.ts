import dicomParser, { type DataSet, type Element } from 'dicom-parser';
import { readFileSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { isMainThread } from 'node:worker_threads';
import { log } from '../../core/log.ts';
import type { Slice, SliceMeta } from '../types.ts';
import { frameDecoder } from './dicom-codecs.ts';
import { decodeNativePixels, expandYbr422, sampleSizeProblem, storedValueRange, ybrFullToRgb, type PixelFormat } from './dicom-pixels.ts';
import { DataFileError, describeThrown } from './errors.ts';
import {
  DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
  EXPLICIT_VR_BIG_ENDIAN,
  EXPLICIT_VR_LITTLE_ENDIAN,
  IMPLICIT_VR_LITTLE_ENDIAN,
  transferSyntax,
  type TransferSyntax,
} from './transfer-syntax.ts';

export interface DicomReadOptions {
  /**
   * Repair the RSNA intracranial-hemorrhage quirk (default true): 12-bit unsigned images whose
   * RescaleIntercept is above −100 store HU modulo 4096 with a wrong intercept.
   */
  rsnaInterceptFix?: boolean;
  /** A CT slice without RescaleSlope and RescaleIntercept: refused (default), read as stored, or rescaled as given. */
  missingRescale?: MissingRescale;
}

/**
 * What a CT slice whose header has no RescaleSlope/RescaleIntercept is read as. Its HU cannot be known, so the
 * default refuses it; `assume-raw` takes the stored values as they are (slope 1, intercept 0); `{ slope, intercept }`
 * is what the scanner used (commonly 1 and −1024). Other modalities have no HU and read as stored.
 */
export type MissingRescale = 'refuse' | 'assume-raw' | { slope: number; intercept: number };

/** Everything the header says, without decoding pixels. */
export interface DicomHeader {
  meta: SliceMeta;
  transferSyntax: TransferSyntax;
  rows?: number;
  cols?: number;
  samplesPerPixel?: number;
  bitsAllocated?: number;
  planarConfiguration: number;
  numberOfFrames: number;
  hasPixelData: boolean;
  /** Where the PixelData value starts and its declared length (undefined length: encapsulated fragments). */
  pixelData?: { offset: number; length: number; undefinedLength: boolean };
  /** The file's size in bytes. */
  fileSize: number;
  /** True when the RSNA intercept quirk was detected (and, unless disabled, repaired). */
  rsnaQuirk: boolean;
  /** Compressed pixel data: the first bytes of its first fragment, where the header read reached them. */
  streamStart?: Uint8Array;
  /**
   * One entry per frame (one for a single-frame file): its metadata, where a multi-frame file's functional groups
   * (Enhanced CT/MR: per-frame, then shared) give its position, orientation, spacing and rescale; `meta` and
   * `rsnaQuirk` above are the first frame's.
   */
  frames: Array<{ meta: SliceMeta; rsnaQuirk: boolean }>;
}

const TAG = {
  transferSyntaxUid: 'x00020010',
  sopInstanceUid: 'x00080018',
  modality: 'x00080060',
  studyInstanceUid: 'x0020000d',
  seriesInstanceUid: 'x0020000e',
  instanceNumber: 'x00200013',
  imagePosition: 'x00200032',
  imageOrientation: 'x00200037',
  samplesPerPixel: 'x00280002',
  photometricInterpretation: 'x00280004',
  planarConfiguration: 'x00280006',
  numberOfFrames: 'x00280008',
  rows: 'x00280010',
  cols: 'x00280011',
  pixelSpacing: 'x00280030',
  bitsAllocated: 'x00280100',
  bitsStored: 'x00280101',
  pixelRepresentation: 'x00280103',
  windowCenter: 'x00281050',
  windowWidth: 'x00281051',
  rescaleIntercept: 'x00281052',
  rescaleSlope: 'x00281053',
  pixelData: 'x7fe00010',
  sharedFunctionalGroups: 'x52009229',
  perFrameFunctionalGroups: 'x52009230',
  planePosition: 'x00209113',
  planeOrientation: 'x00209116',
  pixelMeasures: 'x00289110',
  pixelValueTransformation: 'x00289145',
} as const;

const PREAMBLE_LENGTH = 128;
/** Enough for the header of nearly every CT slice; larger headers fall back to reading the whole file. */
const HEADER_PROBE_BYTES = 16 * 1024;
const RSNA_FIXED_INTERCEPT = -1000;

/** True when the bytes carry the Part-10 "DICM" magic after the 128-byte preamble. */
export function hasDicomMagic(bytes: Uint8Array): boolean {
  return (
    bytes.length >= PREAMBLE_LENGTH + 4 &&
    bytes[PREAMBLE_LENGTH] === 0x44 &&
    bytes[PREAMBLE_LENGTH + 1] === 0x49 &&
    bytes[PREAMBLE_LENGTH + 2] === 0x43 &&
    bytes[PREAMBLE_LENGTH + 3] === 0x4d
  );
}

/**
 * RSNA quirk test (header only): a CT image (or one with no Modality) stored as 12-bit unsigned with an
 * intercept above −100. CT needs negative HU, so such an intercept cannot be right for CT; MR and radiographs
 * are often 12-bit unsigned with intercept 0 legitimately, hence the modality check.
 */
export function hasRsnaInterceptQuirk(
  modality: string | undefined,
  bitsStored: number | undefined,
  pixelRepresentation: number | undefined,
  intercept: number,
): boolean {
  return (modality === undefined || modality === 'CT') && bitsStored === 12 && pixelRepresentation === 0 && Math.trunc(intercept) > -100;
}

/**
 * Reads a DICOM file, decodes its pixels and returns modality values (stored × slope + intercept: Hounsfield
 * units for CT), one slice per frame: a multi-frame CT or MR (classic or Enhanced) is a series in one file.
 */
export async function readDicomSlices(path: string, options: DicomReadOptions = {}): Promise<Slice[]> {
  const bytes = await readWhole(path);
  const dataSet = parseDataSet(path, bytes, false);
  const header = headerFromDataSet(path, dataSet, bytes.length, options);
  const frames = await decodeModalityValues(path, dataSet, header, options);
  return frames.map((data, k) => ({ rows: header.rows!, cols: header.cols!, channels: header.samplesPerPixel!, data, meta: header.frames[k].meta }));
}

/** A single-frame DICOM file's slice (`readDicomSlices` reads every frame of a multi-frame file). */
export async function readDicom(path: string, options: DicomReadOptions = {}): Promise<Slice> {
  const slices = await readDicomSlices(path, options);
  if (slices.length !== 1) throw new DataFileError(path, `holds ${slices.length} frames; read them with readSlices (one slice per frame)`);
  return slices[0];
}

/**
 * Header only (no pixel decoding; reads the first few KB of the file when that holds the whole header). A file
 * whose pixel data is missing, runs past the end of the file, is compressed in a syntax without a decoder or,
 * uncompressed, is shorter than the header's image needs is an error here already, so a dataset scan finds it
 * before training does.
 */
export async function readDicomMetas(path: string, options: DicomReadOptions = {}): Promise<SliceMeta[]> {
  const header = await readDicomHeader(path, options);
  const problem = pixelDataProblem(header);
  if (problem) throw new DataFileError(path, problem);
  return header.frames.map((frame) => frame.meta);
}

/** The header of a single-frame DICOM file (see `readDicomMetas`). */
export async function readDicomMeta(path: string, options: DicomReadOptions = {}): Promise<SliceMeta> {
  const metas = await readDicomMetas(path, options);
  if (metas.length !== 1) throw new DataFileError(path, `holds ${metas.length} frames; read them with readMeta (one slice per frame)`);
  return metas[0];
}

export async function readDicomHeader(path: string, options: DicomReadOptions = {}): Promise<DicomHeader> {
  const { bytes, complete, size } = await readHead(path, HEADER_PROBE_BYTES);
  if (!complete) {
    try {
      const dataSet = parseDataSet(path, bytes, true);
      if (dataSet.elements[TAG.pixelData]) return withStreamStart(headerFromDataSet(path, dataSet, size, options), bytes);
    } catch {
      // The probe may end inside an element; the whole file decides.
    }
  }
  const whole = complete ? bytes : await readWhole(path);
  return withStreamStart(headerFromDataSet(path, parseDataSet(path, whole, true), size, options), whole);
}

/** The first bytes of the first compressed fragment, where `bytes` holds them (after the basic offset table item). */
function withStreamStart(header: DicomHeader, bytes: Uint8Array): DicomHeader {
  const pixels = header.pixelData;
  if (!pixels?.undefinedLength || header.transferSyntax.native) return header;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const isItem = (at: number) => at + 8 <= bytes.length && view.getUint16(at, true) === 0xfffe && view.getUint16(at + 2, true) === 0xe000;
  let at = pixels.offset;
  if (!isItem(at)) return header;
  at += 8 + view.getUint32(at + 4, true); // the basic offset table
  if (!isItem(at)) return header;
  return { ...header, streamStart: bytes.slice(at + 8, Math.min(bytes.length, at + 8 + 12)) };
}

/** How each compressed syntax's stream begins: JPEG's start-of-image, a JPEG 2000 codestream or JP2 file. */
const streamSignatures: Array<{ syntaxes: RegExp; name: string; starts: number[][] }> = [
  { syntaxes: /^1\.2\.840\.10008\.1\.2\.4\.(50|51|57|70|80|81)$/, name: 'a JPEG stream (FF D8)', starts: [[0xff, 0xd8]] },
  {
    syntaxes: /^1\.2\.840\.10008\.1\.2\.4\.(90|91|201|202|203)$/,
    name: 'a JPEG 2000 codestream (FF 4F FF 51) or JP2 file',
    starts: [
      [0xff, 0x4f, 0xff, 0x51],
      [0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20],
    ],
  },
];

/** Why the first fragment cannot be the syntax's stream, if its first bytes say so. */
function streamStartProblem(header: DicomHeader): string | undefined {
  const start = header.streamStart;
  const signature = streamSignatures.find((s) => s.syntaxes.test(header.transferSyntax.uid));
  if (!start || !signature || start.length < 2) return undefined;
  if (signature.starts.some((bytes) => bytes.every((byte, i) => i >= start.length || start[i] === byte))) return undefined;
  const seen = Array.from(start.subarray(0, 4), (b) => b.toString(16).padStart(2, '0').toUpperCase()).join(' ');
  return `corrupt ${header.transferSyntax.name} pixel data: the first fragment starts ${seen}, not ${signature.name}`;
}

function unsupportedSyntax(syntax: TransferSyntax): string {
  return `compressed transfer syntax ${syntax.name} (${syntax.uid}) is not supported; decompress first (e.g. dcmdjpeg, gdcmconv --raw)`;
}

/** Why the header's pixel data cannot be decoded (missing, cut off, too short for the image), if it cannot. */
export function pixelDataProblem(header: DicomHeader): string | undefined {
  const pixels = header.pixelData;
  if (!pixels) return 'DICOM file has no pixel data (7FE0,0010)';
  // A deflated dataset's offsets count inflated bytes, so only the other checks apply to it.
  const deflated = header.transferSyntax.uid === DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN;
  if (!pixels.undefinedLength && !deflated && pixels.offset + pixels.length > header.fileSize) {
    return `truncated DICOM file (pixel data declares ${pixels.length} bytes from byte ${pixels.offset}, the file has ${header.fileSize})`;
  }
  if (!header.transferSyntax.decodable) return unsupportedSyntax(header.transferSyntax);
  if (!header.transferSyntax.native) return streamStartProblem(header);
  if (pixels.undefinedLength) return undefined;
  const { rows, cols, samplesPerPixel, bitsAllocated, numberOfFrames } = header;
  if (rows === undefined || cols === undefined || bitsAllocated === undefined) return undefined;
  const sampleProblem = sampleSizeProblem(bitsAllocated, header.meta.bitsStored ?? bitsAllocated);
  if (sampleProblem) return sampleProblem;
  const subsampled = isYbr422(header);
  const expected = rows * cols * storedSamples(header) * (bitsAllocated / 8) * numberOfFrames;
  if (pixels.length < expected) {
    return `pixel data holds ${pixels.length} bytes, expected ${expected} (${rows}x${cols}, ${samplesPerPixel ?? 1} sample(s)${subsampled ? ' with chroma shared by pixel pairs (YBR_FULL_422)' : ''}, ${bitsAllocated} bits${numberOfFrames > 1 ? `, ${numberOfFrames} frames` : ''})`;
  }
  return undefined;
}

/** Uncompressed YBR_FULL_422: two samples per pixel on disk (each pair of pixels shares Cb and Cr). */
function isYbr422(header: DicomHeader): boolean {
  return header.transferSyntax.native && header.meta.photometricInterpretation === 'YBR_FULL_422' && header.samplesPerPixel === 3;
}

/** Samples per pixel as stored (uncompressed). */
function storedSamples(header: DicomHeader): number {
  return isYbr422(header) ? 2 : (header.samplesPerPixel ?? 1);
}

/**
 * The whole file. In a decode worker the read is synchronous: the thread has nothing else to do meanwhile, and a
 * slice-sized file reads so in 0.01–0.03 ms against 0.18 ms through the promise API (64 × 64 and 224 × 224 CT
 * slices); the main thread keeps the asynchronous read, so training is not held up by the disk.
 */
async function readWhole(path: string): Promise<Uint8Array> {
  try {
    return isMainThread ? await readFile(path) : readFileSync(path);
  } catch (error) {
    throw new DataFileError(path, `cannot read file (${describeThrown(error)})`, { cause: error });
  }
}

async function readHead(path: string, length: number): Promise<{ bytes: Uint8Array; complete: boolean; size: number }> {
  let handle;
  try {
    handle = await open(path, 'r');
    const size = (await handle.stat()).size;
    const buffer = Buffer.alloc(Math.min(size, length));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return { bytes: buffer.subarray(0, bytesRead), complete: bytesRead >= size, size };
  } catch (error) {
    throw new DataFileError(path, `cannot read file (${describeThrown(error)})`, { cause: error });
  } finally {
    await handle?.close();
  }
}

/**
 * Parses a Part-10 file, or, without the DICM preamble, a bare dataset in the default transfer syntax
 * (Implicit VR Little Endian), which older archives still hold.
 */
function parseDataSet(path: string, bytes: Uint8Array, headerOnly: boolean): DataSet {
  const untilTag = headerOnly ? TAG.pixelData : undefined;
  if (!hasDicomMagic(bytes)) {
    const bare = parseBareDataSet(bytes, untilTag);
    if (!bare) throw new DataFileError(path, 'not a DICOM file (no DICM preamble and no parsable dataset)');
    return bare;
  }
  try {
    return dicomParser.parseDicom(bytes, untilTag ? { untilTag } : {});
  } catch (thrown) {
    // Some writers declare Explicit VR Little Endian and write the dataset implicit; pydicom reads those too.
    const implicit = parseImplicitBody(bytes, untilTag);
    if (implicit) {
      warnImplicitBody(path);
      return implicit;
    }
    throw new DataFileError(path, describeParseFailure(bytes, thrown));
  }
}

/** What went wrong in dicom-parser's words translated into the file's: cut off, or a length that does not fit. */
function describeParseFailure(bytes: Uint8Array, thrown: unknown): string {
  const reason = describeThrown(thrown);
  const partial = thrown && typeof thrown === 'object' && 'dataSet' in thrown ? (thrown.dataSet as DataSet | undefined) : undefined;
  const tags = Object.keys(partial?.elements ?? {}).sort();
  const last = tags.at(-1);
  const after = last ? ` after tag (${last.slice(1, 5)},${last.slice(5)})` : '';
  if (/overrun|past end|end of buffer|beyond/i.test(reason)) return `truncated DICOM file (${bytes.length} bytes; the header ends inside an element${after})`;
  if (/parameter|position|length/i.test(reason)) {
    return `damaged DICOM file: an element or sequence item${after} declares a length that runs past its sequence or the end of the file (a damaged sequence), so the header cannot be read`;
  }
  return `corrupt DICOM file (${reason.replace(/^dicomParser[.:]\w+: /, '')})`;
}

/** The meta header as written, then the dataset parsed as Implicit VR Little Endian; undefined unless that parses. */
function parseImplicitBody(bytes: Uint8Array, untilTag: string | undefined): DataSet | undefined {
  try {
    const meta = dicomParser.readPart10Header(bytes);
    const syntax = meta.string(TAG.transferSyntaxUid)?.replace(/\0+$/, '').trim();
    if (syntax !== EXPLICIT_VR_LITTLE_ENDIAN) return undefined;
    const position = (meta as DataSet & { position: number }).position;
    const stream = new dicomParser.ByteStream(dicomParser.littleEndianByteArrayParser, bytes, position);
    const dataSet = new (dicomParser as unknown as { DataSet: new (parser: unknown, bytes: Uint8Array, elements: object) => DataSet }).DataSet(stream.byteArrayParser, bytes, {});
    dicomParser.parseDicomDataSetImplicit(dataSet, stream, bytes.length, untilTag ? { untilTag } : undefined);
    if (!dataSet.elements[TAG.pixelData] && Object.keys(dataSet.elements).length < 2) return undefined;
    Object.assign(dataSet.elements, meta.elements);
    return dataSet;
  } catch {
    return undefined;
  }
}

const implicitBodyFiles = new Set<string>();

/** Says once per file (at debug level after the first) that its header's transfer syntax was not what it holds. */
function warnImplicitBody(path: string): void {
  if (implicitBodyFiles.has(path)) return;
  implicitBodyFiles.add(path);
  const what = 'the header says Explicit VR Little Endian but the dataset is written Implicit VR; read as implicit';
  if (implicitBodyFiles.size === 1) log.warn(`${path}: ${what}; further files: debug log (SLICESEQ_LOG=debug)`);
  else log.debug(`${path}: ${what}`);
}

/** A bare dataset must start at a low group (0002–0008) and parse to the end; anything else is not DICOM. */
function parseBareDataSet(bytes: Uint8Array, untilTag: string | undefined): DataSet | undefined {
  if (bytes.length < 8) return undefined;
  const firstGroup = bytes[0] | (bytes[1] << 8);
  if (firstGroup < 0x0002 || firstGroup > 0x0008) return undefined;
  try {
    const dataSet = dicomParser.parseDicom(bytes, { TransferSyntaxUID: IMPLICIT_VR_LITTLE_ENDIAN, ...(untilTag ? { untilTag } : {}) });
    return Object.keys(dataSet.elements).length > 1 ? dataSet : undefined;
  } catch {
    return undefined;
  }
}

function headerFromDataSet(path: string, dataSet: DataSet, fileSize: number, options: DicomReadOptions): DicomHeader {
  const read = new TagReader(path, dataSet);
  const syntaxUid = read.string(TAG.transferSyntaxUid) ?? IMPLICIT_VR_LITTLE_ENDIAN;
  const bitsAllocated = read.uint16(TAG.bitsAllocated);
  const numberOfFrames = read.integer(TAG.numberOfFrames) ?? 1;
  const groups = functionalGroups(path, dataSet, numberOfFrames);
  const frames = groups.map((frameGroups, k) => frameMeta(path, read, frameGroups, options, numberOfFrames > 1 ? k : undefined));

  const pixelElement: Element | undefined = dataSet.elements[TAG.pixelData];
  return {
    meta: frames[0].meta,
    transferSyntax: transferSyntax(syntaxUid),
    rows: read.uint16(TAG.rows),
    cols: read.uint16(TAG.cols),
    samplesPerPixel: read.uint16(TAG.samplesPerPixel) ?? 1,
    bitsAllocated,
    planarConfiguration: read.uint16(TAG.planarConfiguration) ?? 0,
    numberOfFrames,
    hasPixelData: pixelElement !== undefined,
    ...(pixelElement
      ? {
          pixelData: {
            offset: pixelElement.dataOffset,
            length: pixelElement.length,
            undefinedLength: pixelElement.hadUndefinedLength === true || pixelElement.length === 0xffffffff,
          },
        }
      : {}),
    fileSize,
    rsnaQuirk: frames[0].rsnaQuirk,
    frames,
  };
}

/**
 * Per frame, the functional-group items that describe it (Enhanced CT/MR, PS3.3 C.7.6.16): its own item of the
 * per-frame sequence, then the shared one. A file without functional groups gives each frame none.
 */
function functionalGroups(path: string, dataSet: DataSet, frames: number): TagReader[][] {
  const itemsOf = (tag: string) => (dataSet.elements[tag]?.items ?? []).map((item) => item.dataSet).filter((d): d is DataSet => d !== undefined);
  const perFrame = itemsOf(TAG.perFrameFunctionalGroups);
  const shared = itemsOf(TAG.sharedFunctionalGroups);
  if (perFrame.length > 0 && perFrame.length !== frames) {
    throw new DataFileError(path, `PerFrameFunctionalGroupsSequence holds ${perFrame.length} items for ${frames} frames`);
  }
  return Array.from({ length: frames }, (_, k) => [...(perFrame[k] ? [perFrame[k]] : []), ...shared].map((item) => new TagReader(path, item)));
}

/** The first value a functional group (e.g. PlanePositionSequence) of these items gives, read by `pick`. */
function groupValue<T>(groups: readonly TagReader[], groupTag: string, pick: (group: TagReader) => T | undefined): T | undefined {
  for (const container of groups) {
    const group = container.item(groupTag);
    const value = group && pick(group);
    if (value !== undefined) return value;
  }
  return undefined;
}

/** One frame's metadata: the file's tags, with what its functional groups say in their place. */
function frameMeta(path: string, read: TagReader, groups: readonly TagReader[], options: DicomReadOptions, frame: number | undefined): { meta: SliceMeta; rsnaQuirk: boolean } {
  const bitsAllocated = read.uint16(TAG.bitsAllocated);
  const bitsStored = read.uint16(TAG.bitsStored) ?? bitsAllocated;
  const pixelRepresentation = read.uint16(TAG.pixelRepresentation);
  const photometric = read.string(TAG.photometricInterpretation);
  const modality = read.string(TAG.modality);
  const grouped = <T>(groupTag: string, pick: (group: TagReader) => T | undefined, own: () => T | undefined) => groupValue(groups, groupTag, pick) ?? own();
  const given = {
    slope: grouped(TAG.pixelValueTransformation, (g) => g.number(TAG.rescaleSlope), () => read.number(TAG.rescaleSlope)),
    intercept: grouped(TAG.pixelValueTransformation, (g) => g.number(TAG.rescaleIntercept), () => read.number(TAG.rescaleIntercept)),
  };
  const fallback = missingRescale(path, modality, given, options.missingRescale ?? 'refuse');
  const slope = given.slope ?? fallback.slope;
  const storedIntercept = given.intercept ?? fallback.intercept;
  // The quirk is a wrong intercept written in the header: a header without one is not that case.
  const rsnaQuirk = given.intercept !== undefined && hasRsnaInterceptQuirk(modality, bitsStored, pixelRepresentation, storedIntercept);
  const intercept = rsnaQuirk && options.rsnaInterceptFix !== false ? RSNA_FIXED_INTERCEPT : storedIntercept;

  let windowCenter = read.numbers(TAG.windowCenter);
  const windowWidth = read.numbers(TAG.windowWidth);
  const mirror = monochrome1Mirror(photometric, bitsStored, pixelRepresentation, slope, intercept);
  if (mirror !== undefined && windowCenter) windowCenter = windowCenter.map((center) => mirror - center);

  const meta: SliceMeta = {
    source: frame === undefined ? path : `${path}#frame:${frame}`,
    format: 'dicom',
    modality,
    studyInstanceUid: read.string(TAG.studyInstanceUid),
    seriesInstanceUid: read.string(TAG.seriesInstanceUid),
    sopInstanceUid: read.string(TAG.sopInstanceUid),
    instanceNumber: read.integer(TAG.instanceNumber),
    imagePosition: grouped(TAG.planePosition, (g) => g.tuple(TAG.imagePosition, 3), () => read.tuple(TAG.imagePosition, 3)) as SliceMeta['imagePosition'],
    imageOrientation: grouped(TAG.planeOrientation, (g) => g.tuple(TAG.imageOrientation, 6), () => read.tuple(TAG.imageOrientation, 6)) as SliceMeta['imageOrientation'],
    pixelSpacing: grouped(TAG.pixelMeasures, (g) => g.tuple(TAG.pixelSpacing, 2), () => read.tuple(TAG.pixelSpacing, 2)) as SliceMeta['pixelSpacing'],
    rescaleSlope: slope,
    rescaleIntercept: intercept,
    windowCenter,
    windowWidth,
    transferSyntaxUid: read.string(TAG.transferSyntaxUid) ?? IMPLICIT_VR_LITTLE_ENDIAN,
    photometricInterpretation: photometric,
    bitsStored,
    pixelRepresentation,
  };
  for (const key of Object.keys(meta) as Array<keyof SliceMeta>) if (meta[key] === undefined) delete meta[key];
  return { meta, rsnaQuirk };
}

/** The slope and intercept for tags the header lacks, by the modality's rule (see `MissingRescale`). */
function missingRescale(path: string, modality: string | undefined, given: { slope?: number; intercept?: number }, rule: MissingRescale): { slope: number; intercept: number } {
  const raw = { slope: 1, intercept: 0 };
  if (given.slope !== undefined && given.intercept !== undefined) return raw;
  if (modality !== 'CT' || rule === 'assume-raw') return raw;
  if (rule !== 'refuse') return rule;
  const missing = [given.slope === undefined ? 'RescaleSlope' : '', given.intercept === undefined ? 'RescaleIntercept' : ''].filter(Boolean).join(' and ');
  throw new DataFileError(
    path,
    `CT slice without ${missing}, so its values cannot be read as HU; set the dataset's rescale: { slope, intercept } (what the scanner used, ` +
      `commonly 1 and -1024) or onMissingRescale: 'assume-raw' (values as stored)`,
  );
}

/**
 * MONOCHROME1 shows low values bright. We return MONOCHROME2-sense values: v' = (lo + hi) − v over the
 * rescaled representable range, and mirror the file's window centres the same way, so its windows still apply.
 */
function monochrome1Mirror(
  photometric: string | undefined,
  bitsStored: number | undefined,
  pixelRepresentation: number | undefined,
  slope: number,
  intercept: number,
): number | undefined {
  if (photometric !== 'MONOCHROME1' || bitsStored === undefined) return undefined;
  const [low, high] = storedValueRange(bitsStored, pixelRepresentation ?? 0);
  return low * slope + intercept + (high * slope + intercept);
}

const rsnaQuirkFiles = new Set<string>();

/**
 * Says once per file that the quirk was met. Real RSNA data holds thousands of such files, so the first one
 * is an info line (naming it) and the rest are debug lines (each naming its file): visible with SLICESEQ_LOG=debug.
 */
function logRsnaQuirk(path: string, repaired: boolean): void {
  if (rsnaQuirkFiles.has(path)) return;
  rsnaQuirkFiles.add(path);
  const what = repaired
    ? 'RSNA 12-bit intercept quirk repaired (stored + 1000, wrapped at 4096; intercept −1000)'
    : 'RSNA 12-bit intercept quirk detected and NOT repaired (rsnaInterceptFix: false)';
  if (rsnaQuirkFiles.size === 1) {
    (repaired ? log.info : log.warn)(`${path}: ${what}; further files: debug log (SLICESEQ_LOG=debug)`);
  } else {
    log.debug(`${path}: ${what}`);
  }
}

/** Each frame's modality values (stored × slope + intercept, colour as RGB), in frame order. */
async function decodeModalityValues(path: string, dataSet: DataSet, header: DicomHeader, options: DicomReadOptions): Promise<Float32Array[]> {
  const syntax = header.transferSyntax;
  const element: Element | undefined = dataSet.elements[TAG.pixelData];
  if (!element) throw new DataFileError(path, 'DICOM file has no pixel data (7FE0,0010)');
  const encapsulated = element.encapsulatedPixelData === true || !syntax.native;
  const decoder = encapsulated ? frameDecoder(syntax.uid) : undefined;
  if (encapsulated && (!decoder || !element.encapsulatedPixelData)) {
    throw new DataFileError(path, unsupportedSyntax(syntax));
  }
  const format = pixelFormat(path, header);
  if (!encapsulated && element.dataOffset + element.length > dataSet.byteArray.length) {
    throw new DataFileError(path, 'truncated DICOM file (pixel data runs past the end of the file)');
  }
  const frames: Float32Array[] = [];
  for (let k = 0; k < header.numberOfFrames; k++) {
    const { meta, rsnaQuirk } = header.frames[k];
    const where = header.numberOfFrames > 1 ? `frame ${k + 1} of ${header.numberOfFrames}: ` : '';
    let stored: Float32Array;
    try {
      if (decoder) {
        // Compressed: the codec gives little-endian samples, pixel by pixel, which decode as native data does.
        const frame = encapsulatedFrame(dataSet, element, k, header.numberOfFrames, syntax.uid);
        const samples = await decoder(frame, { ...format, photometricInterpretation: meta.photometricInterpretation });
        stored = decodeNativePixels(samples, { ...format, littleEndian: true, planarConfiguration: 0 });
      } else {
        stored = decodeNativeFrame(dataSet.byteArray.subarray(element.dataOffset, element.dataOffset + element.length), header, format, k);
      }
    } catch (error) {
      const what = decoder ? `cannot decode ${syntax.name} (${syntax.uid}) pixel data: ` : '';
      throw new DataFileError(path, `${where}${what}${describeThrown(error)}`, { cause: error });
    }
    frames.push(modalityValues(path, stored, meta, rsnaQuirk, format, options));
  }
  return frames;
}

/** Frame `k` of native pixel data, colour as RGB (a compressed frame's codec converts it likewise). */
function decodeNativeFrame(pixels: Uint8Array, header: DicomHeader, format: PixelFormat, k: number): Float32Array {
  const samples = storedSamples(header);
  const frameBytes = format.rows * format.cols * samples * (format.bitsAllocated / 8);
  const bytes = pixels.subarray(k * frameBytes, (k + 1) * frameBytes);
  // YBR_FULL_422: decoded as a row of samples, then each pixel pair's chroma shared out.
  const stored = isYbr422(header)
    ? expandYbr422(decodeNativePixels(bytes, { ...format, cols: format.cols * 2, samplesPerPixel: 1 }), format.rows, format.cols)
    : decodeNativePixels(bytes, format);
  const photometric = header.meta.photometricInterpretation;
  if (format.samplesPerPixel === 3 && (photometric === 'YBR_FULL' || photometric === 'YBR_FULL_422')) ybrFullToRgb(stored, format.bitsStored);
  return stored;
}

/**
 * Frame `k`'s compressed bytes: all fragments of a single-frame file; for several frames, the basic offset table's
 * item, else one fragment per frame, else (JPEG) the frames found by their end-of-image markers.
 */
function encapsulatedFrame(dataSet: DataSet, element: Element, k: number, frames: number, syntaxUid: string): Uint8Array {
  const fragments = element.fragments ?? [];
  if (frames === 1) return dicomParser.readEncapsulatedPixelDataFromFragments(dataSet, element, 0, fragments.length);
  if ((element.basicOffsetTable ?? []).length > 0) return dicomParser.readEncapsulatedImageFrame(dataSet, element, k);
  if (fragments.length === frames) return dicomParser.readEncapsulatedPixelDataFromFragments(dataSet, element, k, 1);
  if (/^1\.2\.840\.10008\.1\.2\.4\.(50|51|57|70)$/.test(syntaxUid)) {
    return dicomParser.readEncapsulatedImageFrame(dataSet, element, k, dicomParser.createJPEGBasicOffsetTable(dataSet, element));
  }
  throw new Error(`${frames} frames in ${fragments.length} fragments without a basic offset table: the frames cannot be told apart`);
}

/** Stored values to modality values: the RSNA repair where it applies, slope and intercept, MONOCHROME1 mirrored. */
function modalityValues(path: string, stored: Float32Array, meta: SliceMeta, rsnaQuirk: boolean, format: PixelFormat, options: DicomReadOptions): Float32Array {
  const slope = meta.rescaleSlope ?? 1;
  const intercept = meta.rescaleIntercept ?? 0;
  const repair = rsnaQuirk && options.rsnaInterceptFix !== false;
  if (rsnaQuirk) logRsnaQuirk(path, repair);
  if (repair) {
    for (let i = 0; i < stored.length; i++) {
      const shifted = stored[i] + 1000;
      stored[i] = shifted >= 4096 ? shifted - 4096 : shifted;
    }
  }
  const mirror = monochrome1Mirror(meta.photometricInterpretation, format.bitsStored, format.pixelRepresentation, slope, intercept);
  if (mirror === undefined) for (let i = 0; i < stored.length; i++) stored[i] = stored[i] * slope + intercept;
  else for (let i = 0; i < stored.length; i++) stored[i] = mirror - (stored[i] * slope + intercept);
  return stored;
}

function pixelFormat(path: string, header: DicomHeader): PixelFormat {
  const { meta } = header;
  const missing = (['rows', 'cols', 'bitsAllocated'] as const).filter((key) => header[key] === undefined);
  if (missing.length) throw new DataFileError(path, `DICOM pixel description incomplete: missing ${missing.join(', ')}`);
  return {
    rows: header.rows!,
    cols: header.cols!,
    samplesPerPixel: header.samplesPerPixel ?? 1,
    bitsAllocated: header.bitsAllocated!,
    bitsStored: meta.bitsStored ?? header.bitsAllocated!,
    pixelRepresentation: meta.pixelRepresentation ?? 0,
    planarConfiguration: header.planarConfiguration,
    littleEndian: meta.transferSyntaxUid !== EXPLICIT_VR_BIG_ENDIAN,
  };
}

/** Typed tag access; a present but malformed value is an error naming the file and the tag. */
class TagReader {
  constructor(
    private readonly path: string,
    private readonly dataSet: DataSet,
  ) {}

  private present(tag: string): boolean {
    const element = this.dataSet.elements[tag];
    return element !== undefined && element.length > 0;
  }

  string(tag: string): string | undefined {
    if (!this.present(tag)) return undefined;
    const value = this.dataSet.string(tag);
    return value ? value.replace(/\0+$/, '').trim() : undefined;
  }

  uint16(tag: string): number | undefined {
    return this.present(tag) ? this.dataSet.uint16(tag) : undefined;
  }

  /** The first item of a sequence, to read its tags. */
  item(tag: string): TagReader | undefined {
    const item = this.dataSet.elements[tag]?.items?.[0]?.dataSet;
    return item ? new TagReader(this.path, item) : undefined;
  }

  /** All values of a multi-valued DS/IS tag (backslash-separated). */
  numbers(tag: string): number[] | undefined {
    if (!this.present(tag)) return undefined;
    const text = this.string(tag);
    if (!text) return undefined;
    const values = text.split('\\').map((part) => Number(part.trim()));
    if (values.some((value) => !Number.isFinite(value))) {
      throw new DataFileError(this.path, `malformed numeric value '${text}' in tag (${tag.slice(1, 5)},${tag.slice(5)})`);
    }
    return values;
  }

  number(tag: string): number | undefined {
    return this.numbers(tag)?.[0];
  }

  integer(tag: string): number | undefined {
    const value = this.number(tag);
    return value === undefined ? undefined : Math.round(value);
  }

  tuple(tag: string, length: number): number[] | undefined {
    const values = this.numbers(tag);
    if (values && values.length !== length) {
      throw new DataFileError(this.path, `tag (${tag.slice(1, 5)},${tag.slice(5)}) holds ${values.length} values, expected ${length}`);
    }
    return values;
  }
}
