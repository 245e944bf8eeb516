import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { SummaryWriter } from '../backend/summary-writer.ts';

/**
 * TensorBoard event files, written and read here: the format TensorFlow's summary writers write and TensorBoard
 * reads (`events.out.tfevents.*`), for backends without TensorFlow's own writer (wasm, cpu).
 *
 * A file is a sequence of TFRecords: the payload's length (uint64, little-endian), the masked CRC-32C of those 8
 * bytes, the payload, the masked CRC-32C of the payload. Each payload is an `Event` protobuf
 * (tensorflow/core/util/event.proto): wall_time = 1 (double), step = 2 (int64), file_version = 3 (string),
 * summary = 5, session_log = 7. A `Summary` holds repeated `Value`s (1): tag = 1, simple_value = 2 (float),
 * metadata = 9, tensor = 8. Histograms are written as tfjs-node writes them (TensorBoard's current form): a float
 * tensor of shape [k, 3] (left edge, right edge, count per bucket) with the `histograms` plugin named in the
 * metadata. The protobuf wire encoding is @bufbuild/protobuf's; the CRC is written out below (see crc32c).
 */

// ---- CRC-32C (Castagnoli), masked as TFRecord masks it --------------------------------------------------------

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32C of `data` (the check value of "123456789" is 0xe3069283). */
export function crc32c(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** TFRecord's masked CRC: rotate right by 15 bits and add a constant, so a CRC of CRCs is not trivially zero. */
export function maskedCrc32c(data: Uint8Array): number {
  const crc = crc32c(data);
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** One TFRecord around a payload. */
export function frameRecord(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(16 + payload.length);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(payload.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(payload, 12);
  view.setUint32(12 + payload.length, maskedCrc32c(payload), true);
  return out;
}

/** The payloads of a TFRecord file, each CRC checked; a record cut off at the end (a writer still running) is left out. */
export function readRecords(bytes: Uint8Array, file: string): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: Uint8Array[] = [];
  let offset = 0;
  while (offset + 12 <= bytes.length) {
    const length = Number(view.getBigUint64(offset, true));
    if (view.getUint32(offset + 8, true) !== maskedCrc32c(bytes.subarray(offset, offset + 8))) throw new Error(`${file}: record at byte ${offset}: bad length checksum`);
    const end = offset + 12 + length + 4;
    if (end > bytes.length) break;
    const payload = bytes.subarray(offset + 12, offset + 12 + length);
    if (view.getUint32(offset + 12 + length, true) !== maskedCrc32c(payload)) throw new Error(`${file}: record at byte ${offset}: bad data checksum`);
    records.push(payload);
    offset = end;
  }
  return records;
}

// ---- Event protobuf ---------------------------------------------------------------------------------------------

/** A histogram as TensorBoard's histogram plugin stores it: buckets of [left edge, right edge, count]. */
export type HistogramBuckets = Array<[left: number, right: number, count: number]>;

export interface SummaryValue {
  tag: string;
  /** A scalar (float32). */
  simpleValue?: number;
  /** A histogram (the `histograms` plugin's [k, 3] float tensor). */
  histogram?: HistogramBuckets;
  /** The plugin named in the value's metadata, if any. */
  plugin?: string;
}

export interface TensorBoardEvent {
  wallTime: number;
  step: number;
  fileVersion?: string;
  /** A SessionLog START: TensorBoard drops the events of earlier files at this step and later (a resumed run). */
  sessionStart?: boolean;
  values?: SummaryValue[];
}

const FILE_VERSION = 'brain.Event:2';
const DT_FLOAT = 1;
const SESSION_START = 1;

function encodeValue(w: BinaryWriter, value: SummaryValue): void {
  w.tag(1, WireType.LengthDelimited).fork();
  w.tag(1, WireType.LengthDelimited).string(value.tag);
  if (value.simpleValue !== undefined) w.tag(2, WireType.Bit32).float(value.simpleValue);
  if (value.histogram) {
    // metadata { plugin_data { plugin_name: "histograms" } } (its content, HistogramPluginData version 0, is empty)
    w.tag(9, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string('histograms').join().join();
    const content = new Float32Array(value.histogram.flat());
    w.tag(8, WireType.LengthDelimited).fork();
    w.tag(1, WireType.Varint).int32(DT_FLOAT);
    w.tag(2, WireType.LengthDelimited).fork();
    for (const size of [value.histogram.length, 3]) w.tag(2, WireType.LengthDelimited).fork().tag(1, WireType.Varint).int64(size).join();
    w.join();
    w.tag(4, WireType.LengthDelimited).bytes(new Uint8Array(content.buffer));
    w.join();
  }
  w.join();
}

export function encodeEvent(event: TensorBoardEvent): Uint8Array {
  const w = new BinaryWriter();
  w.tag(1, WireType.Bit64).double(event.wallTime);
  if (event.step !== 0) w.tag(2, WireType.Varint).int64(event.step);
  if (event.fileVersion !== undefined) w.tag(3, WireType.LengthDelimited).string(event.fileVersion);
  if (event.values) {
    w.tag(5, WireType.LengthDelimited).fork();
    for (const value of event.values) encodeValue(w, value);
    w.join();
  }
  if (event.sessionStart) w.tag(7, WireType.LengthDelimited).fork().tag(1, WireType.Varint).int32(SESSION_START).join();
  return w.finish();
}

/** Reads the fields of a sub-message; unknown fields are skipped. */
function fields(bytes: Uint8Array, read: (field: number, wire: WireType, r: BinaryReader) => boolean): void {
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [field, wire] = r.tag();
    if (!read(field, wire, r)) r.skip(wire, field);
  }
}

function decodeTensor(bytes: Uint8Array): { dtype: number; shape: number[]; values: Float32Array } {
  let dtype = 0;
  const shape: number[] = [];
  let content = new Uint8Array(0);
  const floatVal: number[] = [];
  fields(bytes, (field, wire, r) => {
    if (field === 1) dtype = r.int32();
    else if (field === 2) fields(r.bytes(), (f, _w, s) => f === 2 && (fields(s.bytes(), (g, _x, t) => g === 1 && shape.push(Number(t.int64())) > 0), true));
    else if (field === 4) content = Uint8Array.from(r.bytes()); // a copy: aligned for the Float32Array view
    else if (field === 5 && wire === WireType.LengthDelimited) fields(r.bytes(), (_f, _w, t) => (floatVal.push(t.float()), true));
    else if (field === 5) floatVal.push(r.float());
    else return false;
    return true;
  });
  const values = content.length > 0 ? new Float32Array(content.buffer, content.byteOffset, content.length / 4) : Float32Array.from(floatVal);
  return { dtype, shape, values };
}

function decodeValue(bytes: Uint8Array, where: string): SummaryValue {
  const value: SummaryValue = { tag: '' };
  let tensor: ReturnType<typeof decodeTensor> | undefined;
  fields(bytes, (field, _wire, r) => {
    if (field === 1) value.tag = r.string();
    else if (field === 2) value.simpleValue = r.float();
    else if (field === 9) fields(r.bytes(), (f, _w, m) => f === 1 && (fields(m.bytes(), (g, _x, p) => g === 1 && ((value.plugin = p.string()), true)), true));
    else if (field === 8) tensor = decodeTensor(r.bytes());
    else return false;
    return true;
  });
  if (tensor && value.plugin === 'histograms') {
    if (tensor.dtype !== DT_FLOAT || tensor.shape.length !== 2 || tensor.shape[1] !== 3) throw new Error(`${where}: histogram '${value.tag}' is not a float [k, 3] tensor`);
    const v = tensor.values;
    value.histogram = Array.from({ length: tensor.shape[0] }, (_, k) => [v[3 * k], v[3 * k + 1], v[3 * k + 2]]);
  } else if (tensor && tensor.values.length === 1) {
    value.simpleValue = tensor.values[0];
  }
  return value;
}

export function decodeEvent(bytes: Uint8Array, where = 'event'): TensorBoardEvent {
  const event: TensorBoardEvent = { wallTime: 0, step: 0 };
  fields(bytes, (field, _wire, r) => {
    if (field === 1) event.wallTime = r.double();
    else if (field === 2) event.step = Number(r.int64());
    else if (field === 3) event.fileVersion = r.string();
    else if (field === 5) {
      const values: SummaryValue[] = [];
      fields(r.bytes(), (f, _w, s) => f === 1 && (values.push(decodeValue(s.bytes(), where)), true));
      event.values = values;
    } else if (field === 7) fields(r.bytes(), (f, _w, s) => f === 1 && ((event.sessionStart = s.int32() === SESSION_START), true));
    else return false;
    return true;
  });
  return event;
}

// ---- histograms -------------------------------------------------------------------------------------------------

/**
 * Buckets of `values` as tfjs-node's writer computes them (float32 arithmetic throughout): `count` equal-width
 * buckets from min to max, the last closed; one bucket of width 1 around the value when all values are equal.
 */
export function histogramBuckets(values: ArrayLike<number>, count = 30): HistogramBuckets {
  if (!Number.isInteger(count) || count < 1) throw new Error(`histogram: bucket count must be a positive integer, got ${count}`);
  if (values.length === 0) return [];
  const f = Math.fround;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = f(values[i]);
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const range = f(max - min);
  if (range === 0) return [[f(min - 0.5), f(min + 0.5), values.length]];
  const width = f(range / count);
  const counts = new Array<number>(count).fill(0);
  for (let i = 0; i < values.length; i++) counts[Math.min(count - 1, Math.floor(f(f(f(values[i]) - min) / width)))] += 1;
  const step = f(range / count);
  const edges = Array.from({ length: count + 1 }, (_, k) => (k === count ? max : f(min + f(step * k))));
  return counts.map((n, k) => [edges[k], edges[k + 1], n]);
}

// ---- writer and reader ------------------------------------------------------------------------------------------

let fileCounter = 0;

/**
 * Appends events to a new `events.out.tfevents.<seconds>.<host>.<pid>.<n>.sliceseq` file in `logdir` (named to sort
 * after the files already there); `flush`
 * appends what was written since the last flush, so a crash loses at most the unflushed events.
 */
export class EventFileWriter implements SummaryWriter {
  readonly file: string;
  private pending: Uint8Array[] = [];

  constructor(logdir: string, options: { wallTime?: () => number } = {}) {
    mkdirSync(logdir, { recursive: true });
    this.wallTime = options.wallTime ?? (() => Date.now() / 1000);
    // TensorBoard reads a folder's files in name order: a new file (a resumed run's) sorts after every file there,
    // even one written in this same second.
    const latest = Math.max(-1, ...eventFiles(logdir).map((file) => Number(/tfevents\.(\d+)\./.exec(file)?.[1] ?? -1)));
    const seconds = String(Math.max(Math.floor(this.wallTime()), latest + 1)).padStart(10, '0');
    this.file = join(logdir, `events.out.tfevents.${seconds}.${hostname()}.${process.pid}.${String(++fileCounter).padStart(4, '0')}.sliceseq`);
    this.write({ wallTime: this.wallTime(), step: 0, fileVersion: FILE_VERSION });
    this.flush();
  }

  private readonly wallTime: () => number;

  write(event: TensorBoardEvent): void {
    this.pending.push(frameRecord(encodeEvent(event)));
  }

  scalar(tag: string, value: number, step: number): void {
    this.write({ wallTime: this.wallTime(), step, values: [{ tag, simpleValue: value }] });
  }

  histogram(tag: string, values: ArrayLike<number>, step: number): void {
    this.write({ wallTime: this.wallTime(), step, values: [{ tag, histogram: histogramBuckets(values) }] });
  }

  /** Marks a restart at `step`: TensorBoard drops the earlier files' events at this step and later. */
  sessionStart(step: number): void {
    this.write({ wallTime: this.wallTime(), step, sessionStart: true });
  }

  close(): void {
    this.flush();
  }

  flush(): void {
    if (this.pending.length === 0) return;
    appendFileSync(this.file, Buffer.concat(this.pending));
    this.pending = [];
  }
}

/** The events of one file, in order. */
export function readEventFile(file: string): TensorBoardEvent[] {
  const bytes = readFileSync(file);
  return readRecords(bytes, file).map((payload, i) => decodeEvent(payload, `${file} record ${i + 1}`));
}

/** The event files of a log folder (TensorBoard's order: by name). */
export function eventFiles(logdir: string): string[] {
  if (!existsSync(logdir)) return [];
  return readdirSync(logdir)
    .filter((name) => name.includes('tfevents'))
    .sort()
    .map((name) => join(logdir, name));
}
