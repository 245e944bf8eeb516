import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { Rng } from '../core/rng.ts';
import { readJsonFile } from '../core/json.ts';
import { parseOrThrow } from '../core/validate.ts';
import { totalTargetWidth, type LabelSchema } from '../labels/schema.ts';
import type { Batch, BatchSource } from './loader.ts';
import { readNpy } from './npy.ts';
import { limitSliceIndices, makeBatches, sliceId, type Patient } from './patients.ts';

/**
 * The second stage of the two-stage mode: batches of cached per-slice embeddings (written by `sliceseq extract`,
 * experiments/extract.ts) instead of decoded images. An embeddings cache is a folder of one `<patient>.npy` per
 * patient, float32 [slices, features] in slice order, and `index.json` describing them.
 */

export const EMBEDDINGS_INDEX = 'index.json';
export const EMBEDDINGS_FORMAT = 'sliceseq-embeddings';

const fingerprintPartsSchema = z.object({
  /** Backbone weights, backbone config, slice shape and TTA: what turns a preprocessed slice into a vector. */
  model: z.string(),
  /** `Preprocess.fingerprint()` of the extraction's preprocessing. */
  preprocess: z.string(),
  /** Patient ids, slice files and their contents, sampled (data/fingerprint.ts). */
  data: z.string(),
});
export type FingerprintParts = z.infer<typeof fingerprintPartsSchema>;

const patientEntrySchema = z.object({
  id: z.string().min(1),
  /** File name inside the cache folder. */
  file: z.string().regex(/^[^/\\]+\.npy$/),
  slices: z.number().int().positive(),
  targets: z.array(z.number()).nullable(),
  sliceTargets: z.array(z.array(z.number())).nullable(),
});
export type EmbeddingPatientEntry = z.infer<typeof patientEntrySchema>;

export const embeddingIndexSchema = z.object({
  format: z.literal(EMBEDDINGS_FORMAT),
  version: z.literal(1),
  fingerprint: z.string(),
  parts: fingerprintPartsSchema,
  features: z.number().int().positive(),
  /** Where the embeddings come from: enough to re-run the extraction and to check for leakage. */
  source: z.object({
    experiment: z.string(),
    fromRun: z.string().nullable(),
    tta: z.boolean(),
    seed: z.number().int(),
    backbone: z.looseObject({ name: z.string() }),
    preprocess: z.array(z.unknown()),
    imageShape: z.object({ height: z.number(), width: z.number(), channels: z.number() }),
    /** Patients whose labels trained the backbone (its run's training split); null for an untrained backbone. */
    trainedOn: z.array(z.string()).nullable(),
  }),
  /** Target columns in labels/schema.ts order, for readers outside sliceseq (pandas, numpy). */
  labels: z.object({ columns: z.array(z.string()), schema: z.unknown() }),
  patients: z.array(patientEntrySchema).min(1),
  extraction: z.object({ slices: z.number(), seconds: z.number(), slicesPerSecond: z.number(), backend: z.string(), createdAt: z.string() }),
});
export type EmbeddingIndex = z.infer<typeof embeddingIndexSchema>;

/** An embeddings cache folder: its validated index and per-patient reads. */
export class EmbeddingCache {
  private readonly byId: Map<string, EmbeddingPatientEntry>;

  private constructor(
    readonly dir: string,
    readonly index: EmbeddingIndex,
  ) {
    this.byId = new Map(index.patients.map((entry) => [entry.id, entry]));
  }

  /** Reads `dir/index.json`; a missing or malformed index is an error naming the folder. */
  static open(dir: string): EmbeddingCache {
    const path = join(dir, EMBEDDINGS_INDEX);
    if (!existsSync(path)) throw new Error(`${dir} holds no embeddings cache (${EMBEDDINGS_INDEX} is missing): write one with \`sliceseq extract\``);
    return new EmbeddingCache(dir, readJsonFile(embeddingIndexSchema, path));
  }

  get features(): number {
    return this.index.features;
  }

  get fingerprint(): string {
    return this.index.fingerprint;
  }

  entry(patientId: string): EmbeddingPatientEntry {
    const entry = this.byId.get(patientId);
    if (!entry) throw new Error(`patient '${patientId}' is not in the embeddings cache ${this.dir}: re-run \`sliceseq extract\` on this dataset`);
    return entry;
  }

  /** One patient's embeddings, [slices, features] row-major. */
  read(patientId: string): Float32Array {
    const entry = this.entry(patientId);
    const path = join(this.dir, entry.file);
    const array = readNpy(path);
    if (array.shape.length !== 2 || array.shape[0] !== entry.slices || array.shape[1] !== this.features) {
      throw new Error(`${path}: shape (${array.shape.join(', ')}), the cache index says (${entry.slices}, ${this.features})`);
    }
    return array.data;
  }
}

export const embeddingLoaderConfigSchema = z
  .object({
    batchSize: z.number().int().positive(),
    seed: z.number().int().min(0),
    /** Shuffle patients each epoch with Rng.derive(seed, 'order', epoch): the same order as a PatientLoader's. */
    shuffle: z.boolean().default(true),
    maxSlices: z.number().int().positive().optional(),
    sliceLimit: z.enum(['crop', 'resample']).default('resample'),
    dropLast: z.boolean().default(false),
    /** Emit per-slice targets (needs patients with slice labels). */
    sliceTargets: z.boolean().default(false),
  })
  .strict();
export type EmbeddingLoaderConfig = z.input<typeof embeddingLoaderConfigSchema>;

/** Patients with their labels (from the dataset, so relabelling never needs a new extraction) and the cache. */
export interface EmbeddingLoaderSource {
  patients: readonly Patient[];
  labelSchema?: LabelSchema;
  cache: EmbeddingCache;
}

/**
 * Batches of cached embeddings, shaped like PatientLoader's with `images` holding [patients, slices, features];
 * slices beyond `maxSlices` are dropped by the same rule as the image loader's (patients.ts). Batches are small
 * and read from disk synchronously, so there is no prefetch queue.
 */
export class EmbeddingLoader implements BatchSource {
  readonly config: z.output<typeof embeddingLoaderConfigSchema>;
  private readonly patients: readonly Patient[];
  private readonly cache: EmbeddingCache;
  private readonly targetWidth: number;

  constructor(source: EmbeddingLoaderSource, config: EmbeddingLoaderConfig) {
    this.config = parseOrThrow(embeddingLoaderConfigSchema, config, 'embedding loader config');
    if (source.patients.length === 0) throw new Error('the embedding loader needs at least one patient');
    this.patients = source.patients;
    this.cache = source.cache;
    this.targetWidth = source.labelSchema ? totalTargetWidth(source.labelSchema) : 0;
    for (const patient of this.patients) {
      const cached = this.cache.entry(patient.id).slices;
      if (cached !== patient.slices.length) {
        throw new Error(`patient '${patient.id}' has ${patient.slices.length} slices in the dataset but ${cached} in the embeddings cache ${this.cache.dir}: re-run \`sliceseq extract\``);
      }
      if (this.config.sliceTargets && !patient.sliceTargets) throw new Error(`sliceTargets is on but patient '${patient.id}' has no slice labels`);
    }
  }

  /** Patient indices per batch for `epoch`. */
  plan(epoch: number): number[][] {
    const order = this.patients.map((_, i) => i);
    if (this.config.shuffle) Rng.derive(this.config.seed, 'order', epoch).shuffle(order);
    return makeBatches(order, this.patients.map((p) => p.slices.length), { batchSize: this.config.batchSize, dropLast: this.config.dropLast });
  }

  batchesPerEpoch(): number {
    return this.plan(0).length;
  }

  async *epoch(epoch: number): AsyncGenerator<Batch<tf.Tensor3D>> {
    const plan = this.plan(epoch);
    for (let index = 0; index < plan.length; index++) yield this.batch(plan[index].map((i) => this.patients[i]), epoch, index);
  }

  private batch(patients: Patient[], epoch: number, index: number): Batch<tf.Tensor3D> {
    const { maxSlices, sliceLimit } = this.config;
    const features = this.cache.features;
    const kept = patients.map((p) => limitSliceIndices(p.slices.length, maxSlices, sliceLimit));
    const width = Math.max(...kept.map((k) => k.length));
    const count = patients.length;
    const embeddings = new Float32Array(count * width * features);
    const mask = new Float32Array(count * width);
    const sliceTargets = this.config.sliceTargets ? new Float32Array(count * width * this.targetWidth) : undefined;
    patients.forEach((patient, p) => {
      const rows = this.cache.read(patient.id);
      kept[p].forEach((slice, s) => {
        const at = p * width + s;
        embeddings.set(rows.subarray(slice * features, (slice + 1) * features), at * features);
        mask[at] = 1;
        sliceTargets?.set(patient.sliceTargets![slice], at * this.targetWidth);
      });
    });
    const labelled = this.targetWidth > 0 && patients.every((p) => p.targets);
    const tensors = {
      images: tf.tensor3d(embeddings, [count, width, features]),
      mask: tf.tensor2d(mask, [count, width]),
      ...(labelled ? { targets: tf.tensor2d(Float32Array.from(patients.flatMap((p) => Array.from(p.targets!))), [count, this.targetWidth]) } : {}),
      ...(sliceTargets ? { sliceTargets: tf.tensor3d(sliceTargets, [count, width, this.targetWidth]) } : {}),
    };
    return {
      epoch,
      index,
      patientIds: patients.map((p) => p.id),
      sliceCounts: kept.map((k) => k.length),
      sliceIds: patients.map((patient, p) => kept[p].map((slice) => sliceId(patient.slices[slice]))),
      ...tensors,
      dispose: () => tf.dispose(Object.values(tensors)),
    };
  }
}
