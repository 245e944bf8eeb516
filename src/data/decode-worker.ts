import { threadId } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { SliceCache, type CachePrecision } from './cache.ts';
import { packIntoSlab } from './host-buffers.ts';
import { decodePatient, type PatientDecodeRequest } from './decode-patient.ts';
import { buildPreprocess, type Preprocess, type TransformConfig } from './preprocess.ts';
import { readSlices } from './readers/index.ts';
import type { Slice, SliceMeta } from './types.ts';

/** What the loader sends a decode worker: the patient, and the plain configs the worker rebuilds its tools from. */
export interface DecodeTask extends PatientDecodeRequest {
  preprocess: TransformConfig[] | null;
  cache?: WorkerCache;
  /** Where to put the finished slices' values (host-buffers.ts SlabPool), if they fit; otherwise they are moved. */
  slab?: SharedArrayBuffer;
}

type WorkerCache = { dir: string; maxBytes?: number; precision?: CachePrecision };

type PlainSlice = { rows: number; cols: number; channels: number; data: Float32Array; meta: SliceMeta };

/** A patient's slices (and label maps) as they come back; each `data` buffer is moved, not copied, where it owns its buffer. */
export interface DecodeTaskResult {
  slices: PlainSlice[];
  masks?: PlainSlice[];
  cacheHit?: boolean;
  /** Cache entries this task evicted (size limit). */
  evicted: number;
  /** The worker thread that decoded the patient. */
  thread: number;
}

const pipelines = new Map<string, Preprocess>();
const caches = new Map<string, SliceCache>();

function pipelineFor(config: TransformConfig[]): Preprocess {
  const key = JSON.stringify(config);
  let pipeline = pipelines.get(key);
  if (!pipeline) pipelines.set(key, (pipeline = buildPreprocess(config)));
  return pipeline;
}

function cacheFor({ dir, maxBytes, precision }: WorkerCache): SliceCache {
  const key = `${dir}\u0000${maxBytes ?? ''}\u0000${precision ?? ''}`;
  let cache = caches.get(key);
  if (!cache) caches.set(key, (cache = new SliceCache(dir, maxBytes, precision)));
  return cache;
}

/** Decodes one patient in a worker thread (the same `decodePatient` the main thread runs without workers). */
export async function decodeTask(task: DecodeTask): Promise<unknown> {
  const cache = task.cache ? cacheFor(task.cache) : undefined;
  const evictedBefore = cache?.evicted ?? 0;
  const { slices, masks, cacheHit } = await decodePatient(task, {
    ...(task.preprocess ? { pipeline: pipelineFor(task.preprocess) } : {}),
    readSlices: (path, options) => readSlices(path, options),
    ...(cache ? { cache } : {}),
  });
  const plain = (list: Slice[]): PlainSlice[] => list.map(({ rows, cols, channels, data, meta }) => ({ rows, cols, channels, data, meta }));
  const result: DecodeTaskResult = {
    slices: plain(slices),
    ...(masks ? { masks: plain(masks) } : {}),
    ...(cacheHit === undefined ? {} : { cacheHit }),
    evicted: (cache?.evicted ?? 0) - evictedBefore,
    thread: threadId,
  };
  if (task.slab) packIntoSlab(result.slices, task.slab);
  // Move the buffers that belong to one slice alone; views into shared buffers are copied by the message (those of
  // the slab: the view, not the memory).
  const transfer = new Set<ArrayBuffer>();
  for (const { data } of [...result.slices, ...(result.masks ?? [])]) {
    if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer) transfer.add(data.buffer);
  }
  return Piscina.move({ [Piscina.transferableSymbol]: [...transfer], [Piscina.valueSymbol]: result } as never);
}
