import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { Rng } from '../core/rng.ts';
import { parseOrThrow } from '../core/validate.ts';
import { totalTargetWidth, type LabelSchema } from '../labels/schema.ts';
import { readSlices as readSlicesFromFile } from './readers/index.ts';
import { SliceCache } from './cache.ts';
import { decodePatient, type DecodedPatient, type LoaderPipeline, type PatientDecodeRequest, type SliceFileReader } from './decode-patient.ts';
import { runDecodeTask } from './decode-pool.ts';
import { BufferPool, SlabPool, sliceBytes } from './host-buffers.ts';
import { limitPatientSlices, makeBatches, sliceId, type Patient } from './patients.ts';
import { mapLimit } from './map-limit.ts';
import type { DenseOrdinalGroup } from '../labels/dense-ordinal.ts';

export type { LoaderPipeline, SliceFileReader } from './decode-patient.ts';

export const loaderConfigSchema = z
  .object({
    batchSize: z.number().int().positive(),
    seed: z.number().int().min(0),
    /** Shuffle patients each epoch (Rng.derive(seed, 'order', epoch)). */
    shuffle: z.boolean().default(true),
    /** Run the pipeline's random augmentation (Rng.derive(seed, 'augment', epoch, patientId)). */
    augment: z.boolean().default(false),
    /** Draw augmentation parameters per slice instead of once per patient (the volume moving as one). */
    augmentPerSlice: z.boolean().default(false),
    /**
     * Decoded batches queued ahead of the consumer; memory holds at most prefetch + 2 batches (with workers, plus
     * the ceil(workers / batchSize) further batches decoded at once to keep every worker busy, also while a
     * finished batch is assembled).
     */
    prefetch: z.number().int().min(1).default(2),
    /** Patients of one batch decoded at once. */
    concurrency: z.number().int().min(1).default(4),
    /**
     * Worker threads that read and preprocess patients (0: the main thread does). The bytes are the same for any
     * count: each patient's augmentation draw comes from the seed, epoch and patient id alone.
     */
    workers: z.number().int().min(0).default(0),
    maxSlices: z.number().int().positive().optional(),
    /** How to fit more than maxSlices slices (see patients.ts): centre `crop` or evenly spaced `resample`. */
    sliceLimit: z.enum(['crop', 'resample']).default('resample'),
    /** Pad each batch to its longest patient (`batch`) or always to maxSlices (`maxSlices`: fixed shapes). */
    padTo: z.enum(['batch', 'maxSlices']).default('batch'),
    /** Batch patients of similar slice counts together, sorting within windows of this many batches. */
    bucketWindow: z.number().int().min(1).optional(),
    dropLast: z.boolean().default(false),
    /** Emit per-slice targets (needs a dataset with slice labels). */
    sliceTargets: z.boolean().default(false),
    /** Folder for the decoded-slice cache; none when absent. */
    cacheDir: z.string().optional(),
    /** Size limit of that folder in bytes: least recently used entries are deleted beyond it (default: no limit). */
    cacheMaxBytes: z.number().positive().optional(),
    /** How cached slices are stored (cache.ts CachePrecision): lossless by default; `float16` halves float entries, lossy. */
    cachePrecision: z.enum(['lossless', 'float16']).default('lossless'),
  })
  .strict()
  .superRefine((config, ctx) => {
    if (config.padTo === 'maxSlices' && config.maxSlices === undefined) {
      ctx.addIssue({ code: 'custom', path: ['padTo'], message: "padTo 'maxSlices' needs maxSlices" });
    }
  });
export type LoaderConfig = z.input<typeof loaderConfigSchema>;
type ResolvedLoaderConfig = z.output<typeof loaderConfigSchema>;

export type LoaderEvent =
  | { type: 'decode-start'; epoch: number; batch: number }
  | { type: 'decode-end'; epoch: number; batch: number }
  | { type: 'yield'; epoch: number; batch: number }
  | { type: 'dispose'; epoch: number; batch: number }
  | { type: 'cache'; patientId: string; hit: boolean }
  /** A patient decoded, by the main thread (thread 0) or a decode worker. */
  | { type: 'patient'; patientId: string; thread: number };

export interface LoaderRuntime {
  pipeline?: LoaderPipeline;
  readSlices?: SliceFileReader;
  /** Observes the loader (prefetch overlap, cache hits); must not throw. */
  onEvent?: (event: LoaderEvent) => void;
}

/** What the loader reads: a dataset, or any patient list with its label schema. */
export interface LoaderSource {
  patients: readonly Patient[];
  labelSchema?: LabelSchema;
  /** A dense-ordinal group: the loader reads each patient's `sliceMasks` into `Batch.maps`. */
  dense?: DenseOrdinalGroup;
}

/**
 * One batch. The consumer owns its tensors and must call `dispose()` (or use `forEachBatch`) when done;
 * padded slices are zeros with mask 0 (and zero slice targets).
 */
export interface Batch<Images extends tf.Tensor = tf.Tensor5D> {
  epoch: number;
  index: number;
  patientIds: string[];
  /** Real slices per patient (the mask's row sums). */
  sliceCounts: number[];
  /** Per patient, the id of each real slice in batch order (patients.ts `sliceId`). */
  sliceIds: string[][];
  /** [patients, slices, rows, cols, channels]; [patients, slices, features] from an EmbeddingLoader. */
  images: Images;
  /** [patients, slices]: 1 real slice, 0 padding. */
  mask: tf.Tensor2D;
  /** [patients, targetWidth]; absent for unlabelled patients. */
  targets?: tf.Tensor2D;
  /** [patients, slices, targetWidth], when `sliceTargets` is on. */
  sliceTargets?: tf.Tensor3D;
  /** [patients, slices, rows, cols, types]: dense label maps (grades, the ignore value where unlabelled and at padded slices). */
  maps?: tf.Tensor5D;
  dispose(): void;
}

/** What training and prediction read batches from: a PatientLoader (images) or an EmbeddingLoader (cached slice embeddings). */
export interface BatchSource {
  batchesPerEpoch(): number;
  epoch(epoch: number): AsyncGenerator<Batch<tf.Tensor>>;
}

/** A decoded patient and, when a worker put its slices there, the slab they view. */
interface LoadedPatient extends DecodedPatient {
  slab?: SharedArrayBuffer;
}

/** A batch still in host memory (typed arrays), as it waits in the prefetch queue. */
interface HostBatch {
  index: number;
  patientIds: string[];
  sliceCounts: number[];
  sliceIds: string[][];
  shape: [number, number, number, number, number];
  images: Float32Array;
  mask: Float32Array;
  targets?: Float32Array;
  sliceTargets?: Float32Array;
  maps?: Float32Array;
}

/** A bounded FIFO between one producer and one consumer: `push` waits while full, `shift` while empty. */
class BoundedQueue<T> {
  private readonly items: T[] = [];
  private waiter: (() => void) | undefined;
  private closed = false;
  private failure: { error: unknown } | undefined;

  constructor(private readonly capacity: number) {}

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  private wait(): Promise<void> {
    return new Promise((resolve) => (this.waiter = resolve));
  }

  /** Resolves false when the consumer has gone (stop producing). */
  async push(item: T): Promise<boolean> {
    while (this.items.length >= this.capacity && !this.closed) await this.wait();
    if (this.closed) return false;
    this.items.push(item);
    this.wake();
    return true;
  }

  /** The next item, or undefined at the end; rethrows the producer's error in order. */
  async shift(): Promise<T | undefined> {
    while (this.items.length === 0 && !this.closed && !this.failure) await this.wait();
    if (this.items.length > 0) {
      const item = this.items.shift()!;
      this.wake();
      return item;
    }
    if (this.failure) throw this.failure.error;
    return undefined;
  }

  end(): void {
    this.closed = true;
    this.wake();
  }

  fail(error: unknown): void {
    this.failure = { error };
    this.wake();
  }

  get length(): number {
    return this.items.length;
  }
}

/**
 * Streams batches of patients: a producer decodes (reads, preprocesses, augments) batches ahead into a bounded
 * queue while the consumer trains on the current one. Memory is bounded by the queue, never by the dataset.
 * Order (Rng.derive(seed, 'order', epoch)) and augmentation (Rng.derive(seed, 'augment', epoch, patientId)) are
 * fixed by the seed alone, whatever the prefetch timing.
 */
export class PatientLoader {
  readonly config: ResolvedLoaderConfig;
  private readonly patients: Patient[];
  private readonly targetWidth: number;
  private readonly cache: SliceCache | undefined;
  private readonly readSlices: SliceFileReader;
  private readonly cacheCounts = { hits: 0, misses: 0, evicted: 0 };
  private readonly dense: DenseOrdinalGroup | undefined;
  /** Reused host memory (host-buffers.ts): the slabs decode workers return slices in, and batch image buffers. */
  private readonly slabs = new SlabPool();
  private readonly batchBuffers: BufferPool;

  constructor(
    source: LoaderSource,
    config: LoaderConfig,
    private readonly runtime: LoaderRuntime = {},
  ) {
    this.config = parseOrThrow(loaderConfigSchema, config, 'loader config');
    if (source.patients.length === 0) throw new Error('the loader needs at least one patient');
    this.patients = source.patients.map((p) => limitPatientSlices(p, this.config.maxSlices, this.config.sliceLimit));
    this.targetWidth = source.labelSchema ? totalTargetWidth(source.labelSchema) : 0;
    if (this.config.sliceTargets) {
      const missing = this.patients.find((p) => !p.sliceTargets);
      if (missing) throw new Error(`sliceTargets is on but patient '${missing.id}' has no slice labels`);
    }
    for (const p of this.patients) {
      if (p.slices.length === 0) throw new Error(`patient '${p.id}' has no slices`);
      if (p.targets && p.targets.length !== this.targetWidth) {
        throw new Error(`patient '${p.id}' has ${p.targets.length} targets, the label schema ${this.targetWidth}`);
      }
    }
    if (this.config.workers > 0) {
      if (runtime.readSlices) throw new Error('loader: workers read files themselves; a custom readSlices needs workers: 0');
      if (runtime.pipeline && !runtime.pipeline.config) throw new Error('loader: workers rebuild the pipeline from its config; this pipeline has no config() (use buildPreprocess, or workers: 0)');
    }
    this.dense = source.dense;
    if (this.dense) {
      const missing = this.patients.find((p) => p.sliceMasks?.length !== p.slices.length);
      if (missing) throw new Error(`dense labels are on but patient '${missing.id}' has no mask for each slice`);
      if (this.config.cacheDir) throw new Error('loader config cacheDir: the decoded-slice cache does not hold mask files; leave it out for dense labels');
      if (runtime.pipeline && !runtime.pipeline.masks) throw new Error('loader: dense labels need a pipeline that moves label maps (masks()); use buildPreprocess');
    }
    this.cache =
      this.config.cacheDir && this.config.workers === 0 ? new SliceCache(this.config.cacheDir, this.config.cacheMaxBytes, this.config.cachePrecision) : undefined;
    this.readSlices = runtime.readSlices ?? ((path, options) => readSlicesFromFile(path, options));
    this.batchBuffers = new BufferPool(this.config.prefetch + 2);
  }

  /** Patient indices per batch for `epoch` (seeded; the same for every call). */
  plan(epoch: number): number[][] {
    const order = this.patients.map((_, i) => i);
    if (this.config.shuffle) Rng.derive(this.config.seed, 'order', epoch).shuffle(order);
    const { batchSize, dropLast, bucketWindow } = this.config;
    return makeBatches(
      order,
      this.patients.map((p) => p.slices.length),
      { batchSize, dropLast, ...(bucketWindow ? { bucketing: { window: bucketWindow, rng: Rng.derive(this.config.seed, 'bucket', epoch) } } : {}) },
    );
  }

  batchesPerEpoch(): number {
    return this.plan(0).length;
  }

  /** Cache statistics (hits / misses of the decoded-slice cache) so far. */
  cacheStats(): { hits: number; misses: number; evicted: number } | undefined {
    if (!this.config.cacheDir) return undefined;
    return { ...this.cacheCounts, evicted: this.cacheCounts.evicted + (this.cache?.evicted ?? 0) };
  }

  /** The batches of one epoch, decoded ahead with prefetch. Leaving the loop early stops the producer. */
  async *epoch(epoch: number): AsyncGenerator<Batch> {
    const queue = new BoundedQueue<HostBatch>(this.config.prefetch);
    const plan = this.plan(epoch);
    const emit = (event: LoaderEvent) => this.runtime.onEvent?.(event);
    let stopped = false;
    // Batches decoded at once: one on the main thread; with workers, enough batches to keep every worker busy plus
    // one, so the workers go on with the next batch while the main thread assembles a finished one (2 workers,
    // 224 × 224, bench/preprocess.ts: 365–405 slices/s before, 415–507 after, with the two-patient queue of decode-pool.ts).
    const { workers, batchSize } = this.config;
    const ahead = workers === 0 ? 1 : Math.ceil(workers / batchSize) + 1;
    const produce = async () => {
      const inFlight: Array<Promise<HostBatch | undefined>> = [];
      let next = 0;
      let failed = false;
      const isStopped = () => stopped || failed;
      try {
        while (!stopped && (next < plan.length || inFlight.length > 0)) {
          while (next < plan.length && inFlight.length < ahead && !isStopped()) {
            const index = next++;
            emit({ type: 'decode-start', epoch, batch: index });
            const decoding = this.decodeBatch(plan[index].map((i) => this.patients[i]), epoch, index, isStopped).then((host) => {
              if (host) emit({ type: 'decode-end', epoch, batch: index });
              return host;
            });
            decoding.catch(() => {}); // awaited in order below; a batch that fails early must not count as unhandled
            inFlight.push(decoding);
          }
          const host = await inFlight.shift()!;
          if (!host) return;
          if (!(await queue.push(host))) return;
        }
        queue.end();
      } catch (error) {
        failed = true; // the other batches in flight stop taking new patients
        throw error;
      } finally {
        // Leave no decode running behind a consumer that stopped or a batch that failed.
        await Promise.allSettled(inFlight);
      }
    };
    const producer = produce().catch((error) => queue.fail(error));
    try {
      for (;;) {
        const host = await queue.shift();
        if (!host) break;
        const batch = this.toTensors(host, epoch, emit);
        emit({ type: 'yield', epoch, batch: host.index });
        yield batch;
      }
    } finally {
      stopped = true;
      queue.end();
      await producer;
    }
  }

  /** Undefined when the consumer left meanwhile. */
  private async decodeBatch(patients: Patient[], epoch: number, index: number, isStopped: () => boolean): Promise<HostBatch | undefined> {
    // With workers, a batch's patients all go to the pool at once (it queues them); otherwise `concurrency` at a time.
    const { workers, concurrency } = this.config;
    const limit = workers === 0 ? concurrency : Math.max(concurrency, Math.min(patients.length, workers));
    const decodedWithMasks = await mapLimit(patients, limit, async (patient): Promise<LoadedPatient> =>
      isStopped() ? { slices: [] } : this.decodePatient(patient, epoch),
    );
    if (isStopped()) return undefined;
    const decoded = decodedWithMasks.map((d) => d.slices);
    const first = decoded[0][0];
    const [rows, cols, channels] = [first.rows, first.cols, first.channels];
    decoded.forEach((slices, p) =>
      slices.forEach((slice) => {
        if (slice.rows !== rows || slice.cols !== cols || slice.channels !== channels) {
          throw new Error(
            `slices differ in shape within batch ${index}: ${slice.meta.source} of patient '${patients[p].id}' is ` +
              `${slice.rows}×${slice.cols}×${slice.channels}, ${first.meta.source} is ${rows}×${cols}×${channels}; add a resize transform`,
          );
        }
      }),
    );
    const slicesPerPatient = this.config.padTo === 'maxSlices' ? this.config.maxSlices! : Math.max(...decoded.map((s) => s.length));
    const sliceSize = rows * cols * channels;
    const count = patients.length;
    const images = this.batchBuffers.take(count * slicesPerPatient * sliceSize);
    const host: HostBatch = {
      index,
      patientIds: patients.map((p) => p.id),
      sliceCounts: decoded.map((s) => s.length),
      sliceIds: patients.map((p) => p.slices.map(sliceId)),
      shape: [count, slicesPerPatient, rows, cols, channels],
      images: images.buffer,
      mask: new Float32Array(count * slicesPerPatient),
    };
    decoded.forEach((slices, p) => {
      slices.forEach((slice, s) => {
        host.images.set(slice.data, (p * slicesPerPatient + s) * sliceSize);
        host.mask[p * slicesPerPatient + s] = 1;
      });
      if (images.reused) host.images.fill(0, (p * slicesPerPatient + slices.length) * sliceSize, (p + 1) * slicesPerPatient * sliceSize);
    });
    // The slices are copied: their slabs take the next patients.
    for (const { slab } of decodedWithMasks) if (slab) this.slabs.release(slab);
    if (this.targetWidth > 0 && patients.every((p) => p.targets)) {
      host.targets = new Float32Array(count * this.targetWidth);
      patients.forEach((p, i) => host.targets!.set(p.targets!, i * this.targetWidth));
    }
    if (this.dense) {
      const types = this.dense.classes.length;
      host.maps = new Float32Array(count * slicesPerPatient * rows * cols * types).fill(this.dense.ignoreValue);
      decodedWithMasks.forEach(({ masks }, p) =>
        masks!.forEach((mask, s) => {
          if (mask.rows !== rows || mask.cols !== cols) throw new Error(`mask ${mask.meta.source} is ${mask.rows}×${mask.cols} after preprocessing, its slice ${rows}×${cols}: the pipeline must move label maps with its geometric steps`);
          host.maps!.set(mask.data, (p * slicesPerPatient + s) * rows * cols * types);
        }),
      );
    }
    if (this.config.sliceTargets) {
      host.sliceTargets = new Float32Array(count * slicesPerPatient * this.targetWidth);
      patients.forEach((p, i) =>
        p.sliceTargets!.forEach((row, s) => host.sliceTargets!.set(row, (i * slicesPerPatient + s) * this.targetWidth)),
      );
    }
    return host;
  }

  /** A patient's slices (cached, read, prepared, augmented or finished), with its label maps where dense: on the main thread or in a worker. */
  private async decodePatient(patient: Patient, epoch: number): Promise<LoadedPatient> {
    const request: PatientDecodeRequest = {
      patientId: patient.id,
      slices: patient.slices.map(({ path, frame, missingRescale }) => ({ path, ...(frame === undefined ? {} : { frame }), ...(missingRescale ? { missingRescale } : {}) })),
      augment: this.config.augment,
      augmentPerSlice: this.config.augmentPerSlice,
      seed: this.config.seed,
      epoch,
      ...(this.dense ? { masks: { refs: patient.sliceMasks!, group: this.dense } } : {}),
    };
    const { workers, cacheDir, cacheMaxBytes, cachePrecision } = this.config;
    const pipeline = this.runtime.pipeline;
    let decoded: LoadedPatient;
    if (workers > 0) {
      const slab = this.slabs.take();
      const result = await runDecodeTask(workers, {
        ...request,
        preprocess: pipeline?.config?.() ?? null,
        ...(cacheDir ? { cache: { dir: cacheDir, precision: cachePrecision, ...(cacheMaxBytes ? { maxBytes: cacheMaxBytes } : {}) } } : {}),
        ...(slab ? { slab } : {}),
      });
      this.slabs.sized(sliceBytes(result.slices));
      this.cacheCounts.evicted += result.evicted;
      this.runtime.onEvent?.({ type: 'patient', patientId: patient.id, thread: result.thread });
      decoded = { ...result, ...(slab ? { slab } : {}) };
    } else {
      decoded = await decodePatient(request, { ...(pipeline ? { pipeline } : {}), readSlices: this.readSlices, ...(this.cache ? { cache: this.cache } : {}) });
      this.runtime.onEvent?.({ type: 'patient', patientId: patient.id, thread: 0 });
    }
    if (decoded.cacheHit !== undefined) {
      this.cacheCounts[decoded.cacheHit ? 'hits' : 'misses']++;
      this.runtime.onEvent?.({ type: 'cache', patientId: patient.id, hit: decoded.cacheHit });
    }
    return decoded;
  }

  private toTensors(host: HostBatch, epoch: number, emit: (event: LoaderEvent) => void): Batch {
    const [count, slices] = host.shape;
    const tensors = {
      images: tf.tensor5d(host.images, host.shape),
      mask: tf.tensor2d(host.mask, [count, slices]),
      ...(host.targets ? { targets: tf.tensor2d(host.targets, [count, this.targetWidth]) } : {}),
      ...(host.sliceTargets ? { sliceTargets: tf.tensor3d(host.sliceTargets, [count, slices, this.targetWidth]) } : {}),
      ...(host.maps && this.dense ? { maps: tf.tensor5d(host.maps, [count, slices, host.shape[2], host.shape[3], this.dense.classes.length]) } : {}),
    };
    let disposed = false;
    return {
      epoch,
      index: host.index,
      patientIds: host.patientIds,
      sliceCounts: host.sliceCounts,
      sliceIds: host.sliceIds,
      ...tensors,
      dispose: () => {
        if (disposed) return;
        disposed = true;
        const { dataId } = tensors.images;
        tf.dispose(Object.values(tensors));
        // The image buffer is reused once the backend holds no data made from it (a backend may read it lazily, or
        // keep it as the tensor's values while a view such as a reshape lives on).
        if (tf.engine().backend.refCount(dataId) === 0) this.batchBuffers.release(host.images);
        emit({ type: 'dispose', epoch, batch: host.index });
      },
    };
  }
}

/** Runs `fn` on each batch and disposes the batch afterwards, also when `fn` throws. */
export async function forEachBatch<B extends Batch<tf.Tensor>>(batches: AsyncIterable<B>, fn: (batch: B) => void | Promise<void>): Promise<void> {
  for await (const batch of batches) {
    try {
      await fn(batch);
    } finally {
      batch.dispose();
    }
  }
}
