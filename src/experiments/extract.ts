import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { activeBackend } from '../backend/select.ts';
import { writeJsonAtomic } from '../core/atomic.ts';
import { log } from '../core/log.ts';
import { Progress } from '../core/progress.ts';
import { Rng } from '../core/rng.ts';
import { EMBEDDINGS_FORMAT, EMBEDDINGS_INDEX, EmbeddingCache, type EmbeddingIndex, type FingerprintParts } from '../data/embedding-loader.ts';
import { defaultWorkers } from '../data/decode-pool.ts';
import { dataFingerprint } from '../data/fingerprint.ts';
import { PatientLoader } from '../data/loader.ts';
import { writeNpy } from '../data/npy.ts';
import type { Patient } from '../data/patients.ts';
import { buildPreprocess, canonicalJson, type Preprocess } from '../data/preprocess.ts';
import { targetColumns, type LabelSchema } from '../labels/schema.ts';
import { backbones, type Backbone, type ImageShape } from '../models/backbones/index.ts';
import { buildBackbone, modelMetadata } from '../models/build.ts';
import { readRunConfig } from '../runs/config-file.ts';
import { readEnvironment } from '../runs/environment.ts';
import { RUN_FILES } from '../runs/layout.ts';
import { hasRunModel, readRunModel } from '../runs/model.ts';
import { parseExperiment, type Experiment } from './config.ts';

/**
 * The first stage of the two-stage mode (the top RSNA pipelines' shortcut): run a slice CNN once over every slice
 * of every patient and cache its embeddings, so sequence models train on vectors instead of images. The CNN is
 * a finished run's trained backbone (`fromRun`) or the experiment's own backbone as initialised (random or
 * pretrained weights), optionally with test-time augmentation (mean of the slice's and its mirror's embedding).
 * A cache is keyed by a fingerprint of the model, the preprocessing and the data, which the runner checks.
 */

export interface ExtractionSource {
  /** A finished run directory whose model/ supplies the backbone weights. */
  fromRun?: string;
  /** Test-time augmentation: average the embeddings of each slice and its horizontal mirror. */
  tta?: boolean;
}

/** The CNN and fingerprint of one extraction; `dispose()` frees the backbone. */
export interface ExtractionPlan {
  backbone: Backbone;
  backboneConfig: { name: string } & Record<string, unknown>;
  imageShape: ImageShape;
  preprocess: Preprocess;
  tta: boolean;
  parts: FingerprintParts;
  fingerprint: string;
  /** The patients whose labels trained the backbone (the run's training split); null when untrained. */
  trainedOn: string[] | null;
  dispose(): void;
}

const sha256 = () => createHash('sha256');

/** The backbone's weight values (shapes and bytes, in layer order) with its resolved config, slice shape and TTA. */
export function modelFingerprint(backbone: Backbone, config: object, imageShape: ImageShape, tta: boolean): string {
  const hash = sha256().update(canonicalJson({ backbone: config, imageShape, tta }));
  for (const weight of backbone.model.weights) {
    const values = weight.read().dataSync() as Float32Array;
    hash.update(`${weight.shape.join('x')}:`).update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  }
  return hash.digest('hex').slice(0, 16);
}

export function combineFingerprint(parts: FingerprintParts): string {
  return sha256().update(`model ${parts.model}\npreprocess ${parts.preprocess}\ndata ${parts.data}\n`).digest('hex').slice(0, 16);
}

/** The `backbone` model nested in a built model (fold stacking), or wrapped by its timeDistributed layer. */
function nestedBackbone(model: tf.LayersModel, where: string): tf.LayersModel {
  for (const layer of model.layers) {
    const candidate = (layer as unknown as { layer?: tf.layers.Layer }).layer ?? layer;
    if (candidate.name === 'backbone' && candidate instanceof tf.LayersModel) return candidate;
  }
  throw new Error(`${where}: the model has no nested 'backbone' (is it a sliceseq image model?)`);
}

/** The slice shape after preprocessing: the first patient through the evaluation pipeline. */
async function probeImageShape(patients: readonly Patient[], preprocess: Preprocess, seed: number): Promise<ImageShape> {
  if (patients.length === 0) throw new Error('the dataset has no patients');
  const { id, slices } = patients[0];
  const loader = new PatientLoader({ patients: [{ id, slices }] }, { batchSize: 1, seed, shuffle: false, prefetch: 1 }, { pipeline: preprocess });
  for await (const batch of loader.epoch(0)) {
    const [, , height, width, channels] = batch.images.shape;
    batch.dispose();
    return { height, width, channels };
  }
  throw new Error(`patient '${id}' yielded no batch`);
}

/**
 * A trained backbone from a finished run. The run must have trained this experiment's backbone on slices
 * preprocessed the same way; its training split is returned so the runner can refuse to validate on those patients.
 */
async function backboneFromRun(runDir: string, experiment: Experiment, backboneConfig: ExtractionPlan['backboneConfig'], preprocess: Preprocess, rng: Rng) {
  const where = `--from-run ${runDir}`;
  if (!hasRunModel(runDir)) throw new Error(`${where}: no finished run there (${RUN_FILES.model}/model.json is missing)`);
  const runConfig = parseExperiment(readRunConfig(runDir), `${where} ${RUN_FILES.config}`);
  const environment = readEnvironment(runDir);
  const runPreprocess = buildPreprocess(runConfig.data.preprocess);
  if (runPreprocess.fingerprint() !== preprocess.fingerprint()) {
    throw new Error(
      `${where}: the run preprocessed slices as ${JSON.stringify(runPreprocess.config())}, experiment '${experiment.name}' as ` +
        `${JSON.stringify(preprocess.config())}; extract with the experiment the run trained`,
    );
  }
  const model = await readRunModel(runDir);
  try {
    const metadata = modelMetadata(model);
    const runBackbone = metadata?.config.backbone;
    if (!metadata || !runBackbone || !('height' in metadata.inputShape)) throw new Error(`${where}: model/ is not a sliceseq image model`);
    const resolvedRun = { name: runBackbone.name, ...backbones.resolve(runBackbone.name, withoutName(runBackbone), `${where} backbone`) };
    if (canonicalJson(resolvedRun) !== canonicalJson(backboneConfig)) {
      throw new Error(`${where}: the run's backbone is ${canonicalJson(resolvedRun)}, experiment '${experiment.name}' names ${canonicalJson(backboneConfig)}`);
    }
    const { height, width, channels } = metadata.inputShape;
    const imageShape = { height, width, channels };
    const backbone = buildBackbone(backboneConfig, { rng, imageShape });
    backbone.model.setWeights(nestedBackbone(model, where).getWeights());
    return { backbone, imageShape, trainedOn: environment.split.train };
  } finally {
    model.dispose();
  }
}

function withoutName({ name: _name, ...options }: { name: string } & Record<string, unknown>): Record<string, unknown> {
  return options;
}

/**
 * The CNN an extraction runs and the fingerprint of its output on `patients`. Random or pretrained weights are
 * the ones `buildModel` would give the experiment's backbone (same seed stream), so an untrained extraction
 * matches the first epoch of the end-to-end model.
 */
export async function extractionPlan(experiment: Experiment, patients: readonly Patient[], source: ExtractionSource = {}): Promise<ExtractionPlan> {
  const config = experiment.model.backbone;
  if (!config) throw new Error(`experiment '${experiment.name}': model.backbone is needed to extract slice embeddings`);
  const backboneConfig = { name: config.name, ...backbones.resolve(config.name, withoutName(config), 'model.backbone') };
  const preprocess = buildPreprocess(experiment.data.preprocess);
  const rng = Rng.derive(experiment.seed, 'model');
  const tta = source.tta ?? false;
  let built: { backbone: Backbone; imageShape: ImageShape; trainedOn: string[] | null };
  if (source.fromRun) {
    built = await backboneFromRun(source.fromRun, experiment, backboneConfig, preprocess, rng);
  } else {
    const imageShape = await probeImageShape(patients, preprocess, experiment.seed);
    built = { backbone: buildBackbone(backboneConfig, { rng, imageShape }), imageShape, trainedOn: null };
  }
  const parts: FingerprintParts = {
    model: modelFingerprint(built.backbone, backboneConfig, built.imageShape, tta),
    preprocess: preprocess.fingerprint(),
    data: await dataFingerprint([patients]),
  };
  return { ...built, backboneConfig, preprocess, tta, parts, fingerprint: combineFingerprint(parts), dispose: () => built.backbone.model.dispose() };
}

/**
 * Embeddings of `images` [n, H, W, C] in calls of at most `chunk` slices: [n, features], row-major. With TTA,
 * the mean of each slice's embedding and its horizontal mirror's (width reversed).
 */
async function embedSlices(backbone: Backbone, images: tf.Tensor4D, tta: boolean, chunk: number): Promise<Float32Array> {
  const count = images.shape[0];
  const out = new Float32Array(count * backbone.featureSize);
  for (let start = 0; start < count; start += chunk) {
    const size = Math.min(chunk, count - start);
    const features = tf.tidy(() => {
      const rows = tf.slice(images, [start, 0, 0, 0], [size, -1, -1, -1]);
      const plain = backbone.model.apply(rows, { training: false }) as tf.Tensor2D;
      if (!tta) return plain;
      const mirrored = backbone.model.apply(tf.reverse(rows, 2), { training: false }) as tf.Tensor2D;
      return tf.div(tf.add(plain, mirrored), 2);
    });
    out.set((await features.data()) as Float32Array, start * backbone.featureSize);
    features.dispose();
  }
  return out;
}

/** A file name for a patient id: the id itself when it is a safe name, else a cleaned id with a hash (no collisions). */
export function embeddingFileName(id: string): string {
  if (/^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/.test(id)) return `${id}.npy`;
  return `${id.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^\./, '_')}-${sha256().update(id).digest('hex').slice(0, 8)}.npy`;
}

export interface ExtractOptions extends ExtractionSource {
  /** The cache folder to write. */
  cache: string;
  /** Replace a cache holding another extraction (or write into a folder that is not a cache). */
  force?: boolean;
  /** Patients decoded and embedded per step (their decoded slices are in memory at once). */
  patientsPerBatch?: number;
  /** The most slices per backbone call (bounds activation memory). */
  slicesPerCall?: number;
  /** Recorded in the index: the experiment file, so the extraction can be re-run. */
  experimentFile?: string;
}

export interface ExtractResult {
  cache: string;
  fingerprint: string;
  parts: FingerprintParts;
  features: number;
  patients: number;
  slices: number;
  seconds: number;
  slicesPerSecond: number;
  /** True when the cache already held this extraction and nothing was computed. */
  reused: boolean;
}

function existingCache(dir: string, force: boolean): EmbeddingCache | undefined {
  if (!existsSync(dir)) return undefined;
  if (existsSync(join(dir, EMBEDDINGS_INDEX))) return EmbeddingCache.open(dir);
  if (readdirSync(dir).length > 0 && !force) {
    throw new Error(`${dir} is not empty and holds no embeddings cache (no ${EMBEDDINGS_INDEX}); pass --force to write into it (an interrupted extraction leaves such a folder)`);
  }
  return undefined;
}

function complete(cache: EmbeddingCache): boolean {
  return cache.index.patients.every((entry) => existsSync(join(cache.dir, entry.file)));
}

/**
 * Runs the extraction of `experiment` (resolved: quick and overrides applied) over every slice of every patient of
 * its dataset and writes `<cache>/<patient>.npy` (float32 [slices, features]) and `<cache>/index.json`, the index
 * last so a cache is only ever read complete. A cache already holding the same fingerprint is kept as it is.
 */
export async function extractEmbeddings(
  experiment: Experiment,
  dataset: { patients: readonly Patient[]; labelSchema?: LabelSchema },
  options: ExtractOptions,
): Promise<ExtractResult> {
  const cacheDir = resolve(options.cache);
  const previous = existingCache(cacheDir, options.force ?? false);
  const plan = await extractionPlan(experiment, dataset.patients, options);
  try {
    const summary = { cache: cacheDir, fingerprint: plan.fingerprint, parts: plan.parts, features: plan.backbone.featureSize, patients: dataset.patients.length };
    if (previous && !options.force) {
      if (previous.fingerprint === plan.fingerprint && complete(previous)) {
        log.info(`${cacheDir} already holds these embeddings (fingerprint ${plan.fingerprint}); nothing to do`);
        const { slices, seconds, slicesPerSecond } = previous.index.extraction;
        return { ...summary, slices, seconds, slicesPerSecond, reused: true };
      }
      if (previous.fingerprint !== plan.fingerprint) {
        throw new Error(
          `${cacheDir} holds embeddings with fingerprint ${previous.fingerprint} (${describeParts(previous.index.parts)}); this extraction's is ` +
            `${plan.fingerprint} (${describeParts(plan.parts)}): pass --force to replace them or choose another --cache`,
        );
      }
    }
    // The old index goes first: from here until the new index is written the folder is not a usable cache.
    rmSync(join(cacheDir, EMBEDDINGS_INDEX), { force: true });
    const written = await writeEmbeddings(experiment, dataset, plan, cacheDir, options);
    const kept = new Set(written.entries.map((entry) => entry.file));
    for (const entry of previous?.index.patients ?? []) if (!kept.has(entry.file)) rmSync(join(cacheDir, entry.file), { force: true });
    const slicesPerSecond = written.slices / written.seconds;
    const index: EmbeddingIndex = {
      format: EMBEDDINGS_FORMAT,
      version: 1,
      fingerprint: plan.fingerprint,
      parts: plan.parts,
      features: plan.backbone.featureSize,
      source: {
        experiment: options.experimentFile ?? experiment.name,
        fromRun: options.fromRun ? resolve(options.fromRun) : null,
        tta: plan.tta,
        seed: experiment.seed,
        backbone: plan.backboneConfig,
        preprocess: plan.preprocess.config(),
        imageShape: plan.imageShape,
        trainedOn: plan.trainedOn,
      },
      labels: { columns: dataset.labelSchema ? targetColumns(dataset.labelSchema) : [], schema: dataset.labelSchema ?? null },
      patients: written.entries,
      extraction: { slices: written.slices, seconds: written.seconds, slicesPerSecond, backend: activeBackend()?.kind ?? tf.getBackend(), createdAt: new Date().toISOString() },
    };
    writeJsonAtomic(join(cacheDir, EMBEDDINGS_INDEX), index);
    log.info(`extracted ${written.slices} slices of ${dataset.patients.length} patients in ${written.seconds.toFixed(1)} s (${slicesPerSecond.toFixed(1)} slices/s) to ${cacheDir}, fingerprint ${plan.fingerprint}`);
    return { ...summary, slices: written.slices, seconds: written.seconds, slicesPerSecond, reused: false };
  } finally {
    plan.dispose();
  }
}

export function describeParts(parts: FingerprintParts): string {
  return `model ${parts.model}, preprocess ${parts.preprocess}, data ${parts.data}`;
}

/** Decodes patients in batches (prefetched), embeds their real slices and writes one .npy per patient. */
async function writeEmbeddings(
  experiment: Experiment,
  dataset: { patients: readonly Patient[]; labelSchema?: LabelSchema },
  plan: ExtractionPlan,
  cacheDir: string,
  options: ExtractOptions,
): Promise<{ entries: EmbeddingIndex['patients']; slices: number; seconds: number }> {
  const loader = new PatientLoader(
    dataset,
    {
      batchSize: options.patientsPerBatch ?? 4,
      seed: experiment.seed,
      shuffle: false,
      augment: false,
      prefetch: experiment.data.prefetch,
      workers: experiment.data.workers ?? defaultWorkers(),
      ...(experiment.data.cacheDir ? { cacheDir: experiment.data.cacheDir } : {}),
    },
    { pipeline: plan.preprocess },
  );
  const byId = new Map(dataset.patients.map((p) => [p.id, p]));
  const features = plan.backbone.featureSize;
  const { height, width, channels } = plan.imageShape;
  const entries: EmbeddingIndex['patients'] = [];
  const progress = new Progress({ label: 'extract', total: dataset.patients.length, unit: 'patient' });
  const started = performance.now();
  let slices = 0;
  for await (const batch of loader.epoch(0)) {
    try {
      const [count, padded, h, w, c] = batch.images.shape;
      if (h !== height || w !== width || c !== channels) {
        throw new Error(`patients ${batch.patientIds.join(', ')}: slices are ${h}×${w}×${c} after preprocessing, the backbone takes ${height}×${width}×${channels}`);
      }
      const realRows = batch.sliceCounts.flatMap((n, p) => Array.from({ length: n }, (_, s) => p * padded + s));
      const real = tf.tidy(() => tf.gather(tf.reshape(batch.images, [count * padded, h, w, c]), realRows) as tf.Tensor4D);
      const embeddings = await embedSlices(plan.backbone, real, plan.tta, options.slicesPerCall ?? 64).finally(() => real.dispose());
      let row = 0;
      batch.patientIds.forEach((id, p) => {
        const n = batch.sliceCounts[p];
        const patient = byId.get(id)!;
        const file = embeddingFileName(id);
        writeNpy(join(cacheDir, file), embeddings.slice(row * features, (row + n) * features), [n, features]);
        entries.push({
          id,
          file,
          slices: n,
          targets: patient.targets ? Array.from(patient.targets) : null,
          sliceTargets: patient.sliceTargets ? patient.sliceTargets.map((t) => Array.from(t)) : null,
        });
        row += n;
      });
      slices += row;
      progress.tick(count, `${(slices / ((performance.now() - started) / 1000)).toFixed(1)} slices/s`);
    } finally {
      batch.dispose();
    }
  }
  progress.finish();
  return { entries, slices, seconds: (performance.now() - started) / 1000 };
}
