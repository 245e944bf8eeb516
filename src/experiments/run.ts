import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { initBackend, type BackendChoice } from '../backend/select.ts';
import { writeFileAtomic, writeJsonAtomic } from '../core/atomic.ts';
import { formatCsv } from '../core/csv.ts';
import { log } from '../core/log.ts';
import { Rng } from '../core/rng.ts';
import { packageVersion } from '../core/version.ts';
import { datasets, loadDataset } from '../data/datasets/registry.ts';
import type { Dataset } from '../data/datasets/types.ts';
import { PatientLoader, type Batch, type BatchSource } from '../data/loader.ts';
import { EmbeddingLoader } from '../data/embedding-loader.ts';
import { buildPreprocess } from '../data/preprocess.ts';
import { holdout, kFold, splitItems } from '../data/splits.ts';
import type { Patient } from '../data/patients.ts';
import { decodeLogits } from '../labels/decode.ts';
import { binaryClassNames, targetColumns, totalTargetWidth, type LabelSchema } from '../labels/schema.ts';
import { buildCriterion, type Criterion } from '../losses/criterion.ts';
import { buildDenseCriterion } from '../losses/dense-criterion.ts';
import { checkDenseMonitor, denseValidation, finishDenseRun } from './dense-run.ts';
import { buildModel } from '../models/build.ts';
import { saveModel } from '../models/io.ts';
import { fbetaScore } from '../metrics/fbeta.ts';
import { classificationReport, writeClassificationReport } from '../report/classification-report.ts';
import { writeRunReport } from '../report/run-report.ts';
import { matrix } from '../metrics/matrix.ts';
import { Checkpoints, type TrainingState } from '../train/checkpoint.ts';
import { binaryView, checkMonitor, predict, scorePredictions, tuneThresholds, type Predictions, type ScoreBlock } from '../train/evaluate.ts';
import { createOptimizer } from '../train/optimizers.ts';
import { createSchedule } from '../train/schedules.ts';
import { fit } from '../train/trainer.ts';
import { applySet, deepMerge, parseExperiment, type Experiment, type ExperimentInput } from './config.ts';
import { openEmbeddingsInput } from './embeddings-input.ts';

export interface RunOptions {
  /** Parent folder of run directories. */
  out: string;
  /** Overrides the dataset's `root`. */
  data?: string;
  /** `key.path=value` assignments applied on top of the file. */
  sets?: string[];
  seed?: number;
  backend?: Experiment['backend'];
  quick?: boolean;
  resume?: boolean;
  /** Delete an existing run directory of the same name first. */
  force?: boolean;
  /** Override the run directory name (default `<name>-seed<seed>-fold<fold>`). */
  runName?: string;
  /** Write report.html and figures/ at the end (default true; `sliceseq report` can write it later). */
  report?: boolean;
}

export interface RunResult {
  runDir: string;
  metrics: { val: ScoreBlock; test?: ScoreBlock; baseline?: Record<string, number> };
  state: TrainingState;
  backend: BackendChoice;
}

/** The experiment as it will run: quick overrides, `--set`, seed, backend and data folder applied, then validated. */
export function resolveExperiment(input: ExperimentInput, options: Omit<RunOptions, 'out'>): Experiment {
  let raw = structuredClone(input) as Record<string, unknown>;
  if (options.quick) raw = deepMerge(raw, (input as { quick?: unknown }).quick ?? {}) as Record<string, unknown>;
  for (const assignment of options.sets ?? []) raw = applySet(raw, assignment);
  if (options.seed !== undefined) raw.seed = options.seed;
  if (options.backend) raw.backend = options.backend;
  if (options.data) raw = deepMerge(raw, { data: { dataset: { root: options.data } } }) as Record<string, unknown>;
  const experiment = parseExperiment(raw, `experiment '${String(raw.name ?? '?')}'`);
  // Everything that names a registered component is checked now, before any data is read.
  const { name, ...datasetOptions } = experiment.data.dataset;
  datasets.resolve(name, datasetOptions, 'data.dataset');
  buildPreprocess(experiment.data.preprocess);
  createSchedule(experiment.schedule);
  createOptimizer(experiment.optimizer).optimizer.dispose();
  return experiment;
}

/** A short hash of what the model sees: patient ids, slice files and targets. */
function dataFingerprint(patients: readonly Patient[]): string {
  const hash = createHash('sha256');
  for (const p of patients) {
    hash.update(p.id);
    for (const s of p.slices) hash.update(`${s.path}#${s.frame ?? ''}`);
    for (const m of p.sliceMasks ?? []) hash.update(`mask:${m.paths.join('|')}#${m.frame ?? ''}`);
    if (p.targets) hash.update(Buffer.from(p.targets.buffer, p.targets.byteOffset, p.targets.byteLength));
  }
  return hash.digest('hex').slice(0, 16);
}

/** Test patients held out first, then k folds over the rest; the run trains on k-1 folds and validates on one. */
function splitPatients(dataset: Dataset, experiment: Experiment): { train: Patient[]; val: Patient[]; test: Patient[] } {
  const { test, folds, fold } = experiment.split;
  const items = splitItems(dataset.patients);
  // A dataset that names its own test patients (a manifest's split column) keeps them; otherwise a seeded draw.
  const fixed = dataset.testIds ? new Set(dataset.testIds) : undefined;
  const held = fixed
    ? { train: items.filter((i) => !fixed.has(i.id)).map((i) => i.id), val: [], test: items.filter((i) => fixed.has(i.id)).map((i) => i.id) }
    : test > 0
      ? holdout(items, { train: 1 - test, val: 0, test, seed: experiment.seed })
      : { train: items.map((i) => i.id), val: [], test: [] };
  const remaining = new Set(held.train);
  const chosen = kFold(items.filter((item) => remaining.has(item.id)), { k: folds, seed: experiment.seed })[fold];
  const byId = new Map(dataset.patients.map((p) => [p.id, p]));
  const pick = (ids: readonly string[]) => ids.map((id) => byId.get(id)!);
  return { train: pick(chosen.train), val: pick(chosen.val), test: pick(held.test) };
}

/** Predictions as CSV: id, every decoded score column, and the true targets when known (`true_<column>`). */
export function predictionsCsv(schema: LabelSchema, predictions: Predictions): string {
  const decoded = decodeLogits(schema, predictions.logits);
  const truthColumns = predictions.targets ? targetColumns(schema) : [];
  const header = ['id', ...decoded.columns, ...truthColumns.map((c) => `true_${c}`)];
  const rows: Array<Array<string | number>> = [header];
  for (let r = 0; r < predictions.rows; r++) {
    const scores = Array.from(decoded.values.subarray(r * decoded.columns.length, (r + 1) * decoded.columns.length), (v) => Number(v.toPrecision(6)));
    const truth = predictions.targets ? Array.from(predictions.targets.subarray(r * truthColumns.length, (r + 1) * truthColumns.length)) : [];
    rows.push([predictions.ids[r], ...scores, ...truth]);
  }
  return formatCsv(rows);
}

/** F2 of predicting every binary label positive: the floor a model must clearly beat. */
function allPositiveBaseline(schema: LabelSchema, predictions: Predictions, zeroDivision: 0 | 1): Record<string, number> {
  const targets = binaryView(schema, predictions).targets!;
  const ones = matrix(new Float32Array(targets.rows * targets.cols).fill(1), targets.rows, targets.cols);
  return Object.fromEntries((['samples', 'micro', 'macro'] as const).map((average) => [average, fbetaScore(ones, targets, average, { beta: 2, zeroDivision })]));
}

/**
 * Runs one experiment end to end and writes its run directory: config.json, environment.json, history.jsonl,
 * checkpoints/, model/, thresholds.json, metrics.json, predictions (out-of-fold validation and test) as CSV.
 */
export async function runExperiment(input: ExperimentInput, options: RunOptions): Promise<RunResult> {
  const experiment = resolveExperiment(input, options);
  const runDir = resolve(options.out, options.runName ?? `${experiment.name}-seed${experiment.seed}-fold${experiment.split.fold}`);
  const checkpoints = new Checkpoints(join(runDir, 'checkpoints'));
  if (existsSync(runDir)) {
    if (options.force) rmSync(runDir, { recursive: true, force: true });
    else if (!options.resume) throw new Error(`run directory ${runDir} already exists: pass --resume to continue it or --force to start over`);
  }

  const backend = await initBackend(experiment.backend);
  const dataset = await loadDataset(experiment.data.dataset, { cacheDir: experiment.data.cacheDir });
  if ((!dataset.labelSchema && !dataset.dense) || !dataset.labelled) throw new Error(`data.dataset: ${dataset.source} has no labels to train on`);
  const dense = dataset.dense;
  if (dense && dataset.labelSchema) throw new Error(`data.dataset: ${dataset.source} has both mask files and label columns; a run trains dense maps or image-level labels, not both`);
  if (dense && experiment.data.embeddings) throw new Error('data.embeddings: dense maps are trained on images, not on cached slice embeddings');
  if (dense && !experiment.model.dense) throw new Error(`model.dense: the dataset has dense-ordinal maps (group '${dense.name}'); name a dense model, e.g. { name: 'unet' }`);
  if (!dense && experiment.model.dense) throw new Error('model.dense: a dense model needs mask files in the dataset (the manifest\'s masks option)');
  const schema = dataset.labelSchema;
  const level = experiment.data.level;
  if (level === 'slice' && !dataset.sliceLabelled && !dense) throw new Error(`data.level: 'slice' needs slice labels, which ${dataset.source} does not have`);
  if (dense) checkDenseMonitor(experiment.train.monitor, 'train.monitor');
  else checkMonitor(schema!, experiment.train.monitor, 'train.monitor');
  const split = splitPatients(dataset, experiment);
  log.info(`data: ${dataset.patients.length} patients (${split.train.length} train, ${split.val.length} val, ${split.test.length} test) from ${dataset.source}`);
  // Two-stage mode: the model reads slice embeddings cached by `sliceseq extract`, refused unless they are the extraction the experiment names.
  const embeddings = experiment.data.embeddings
    ? await openEmbeddingsInput(experiment.data.embeddings, { patients: dataset.patients, heldOut: [...split.val, ...split.test], resolve: resolveExperiment })
    : undefined;

  // The run directory appears only once config, data and split have passed their checks.
  mkdirSync(runDir, { recursive: true });
  if (dataset.skipped.length > 0) writeJsonAtomic(join(runDir, 'skipped-files.json'), dataset.skipped);
  writeJsonAtomic(join(runDir, 'config.json'), experiment);
  writeJsonAtomic(join(runDir, 'environment.json'), {
    sliceseq: packageVersion(),
    node: process.version,
    tfjs: tf.version.tfjs,
    backend: backend.kind,
    device: backend.device,
    seed: experiment.seed,
    data: { source: dataset.source, fingerprint: dataFingerprint(dataset.patients), patients: dataset.patients.length },
    split: { train: split.train.map((p) => p.id), val: split.val.map((p) => p.id), test: split.test.map((p) => p.id) },
    ...(embeddings ? { embeddings: embeddings.provenance } : {}),
  });

  const preprocess = buildPreprocess(experiment.data.preprocess);
  const loaderFor = (patients: Patient[], train: boolean): BatchSource =>
    embeddings
      ? new EmbeddingLoader(
          { patients, labelSchema: schema, cache: embeddings.cache },
          { batchSize: experiment.train.batchSize, seed: experiment.seed, shuffle: train, maxSlices: experiment.data.maxSlices, sliceLimit: experiment.data.sliceLimit, sliceTargets: level === 'slice' },
        )
      : new PatientLoader(
          { patients, labelSchema: schema, ...(dense ? { dense } : {}) },
          {
            batchSize: experiment.train.batchSize,
            seed: experiment.seed,
            shuffle: train,
            augment: train,
            augmentPerSlice: experiment.data.augmentPerSlice,
            prefetch: experiment.data.prefetch,
            maxSlices: experiment.data.maxSlices,
            sliceLimit: experiment.data.sliceLimit,
            sliceTargets: level === 'slice' && !dense,
            ...(experiment.data.cacheDir ? { cacheDir: experiment.data.cacheDir } : {}),
            ...(experiment.data.cacheMaxGiB ? { cacheMaxBytes: experiment.data.cacheMaxGiB * 2 ** 30 } : {}),
          },
          { pipeline: preprocess },
        );
  const trainLoader = loaderFor(split.train, true);
  const valLoader = loaderFor(split.val, false);

  // The input shape comes from the data as preprocessed: one patient through the evaluation pipeline.
  const probe = await valLoader.epoch(0).next();
  if (probe.done) throw new Error('the validation split is empty');
  const [, , ...sliceShape] = probe.value.images.shape;
  probe.value.dispose();
  // Embeddings batches are [b, s, features]; image batches [b, s, height, width, channels].
  const inputShape = sliceShape.length === 1 ? { features: sliceShape[0] } : { height: sliceShape[0], width: sliceShape[1], channels: sliceShape[2] };

  const model = buildModel(experiment.model, { schema, dense, rng: Rng.derive(experiment.seed, 'model'), inputShape, level });
  const criterion = dense ? buildDenseCriterion(dense, experiment.loss, 'loss') : buildCriterion(schema!, experiment.loss, 'loss');
  const optimizer = createOptimizer(experiment.optimizer);
  const schedule = createSchedule(experiment.schedule);

  let interrupted = false;
  const onSigint = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log.warn('Ctrl-C: finishing the current step and saving a checkpoint (Ctrl-C again to quit at once)');
  };
  process.on('SIGINT', onSigint);
  const settings = { epochs: experiment.train.epochs, level, monitor: experiment.train.monitor, gradientClip: experiment.train.gradientClip, earlyStopping: experiment.train.earlyStopping, zeroDivision: experiment.evaluation.zeroDivision };
  let state: TrainingState;
  try {
    state = await fit(
      {
        model, schema, criterion, optimizer, schedule, trainLoader, valLoader, checkpoints,
        ...(dense ? { targetsOf: (batch: Batch<tf.Tensor>) => batch.maps, validate: denseValidation(dense, valLoader, criterion) } : {}),
        onEpoch: (s) => writeFileAtomic(join(runDir, 'history.jsonl'), s.history.map((h) => JSON.stringify(h)).join('\n') + '\n'),
        shouldStop: () => interrupted,
      },
      settings,
    );
  } finally {
    process.off('SIGINT', onSigint);
  }
  if (state.stopped === 'interrupted') {
    model.dispose();
    optimizer.optimizer.dispose();
    return { runDir, metrics: { val: {} }, state, backend };
  }

  // Evaluate the best epoch: thresholds are fitted on validation (out-of-fold) predictions only, then applied to test.
  checkpoints.loadWeights(model, 'best');
  const metrics: RunResult['metrics'] = dense
    ? await finishDenseRun({
        model, group: dense, criterion, runDir, thresholds: experiment.evaluation.denseThresholds,
        trainLoader: loaderFor(split.train, false), valLoader, ...(split.test.length > 0 ? { testLoader: loaderFor(split.test, false) } : {}),
      })
    : await finishLabelRun(model, schema!, criterion as Criterion, { valLoader, testLoader: split.test.length > 0 ? loaderFor(split.test, false) : undefined, level, zeroDivision: settings.zeroDivision, thresholdKind: experiment.evaluation.thresholds, runDir });
  writeJsonAtomic(join(runDir, 'metrics.json'), { best_epoch: state.best?.epoch ?? null, stopped: state.stopped ?? null, ...metrics });
  const modelDir = join(runDir, 'model');
  const stagingDir = join(runDir, '.model-staging');
  rmSync(stagingDir, { recursive: true, force: true });
  await saveModel(model, stagingDir);
  rmSync(modelDir, { recursive: true, force: true });
  renameSync(stagingDir, modelDir);
  model.dispose();
  optimizer.optimizer.dispose();
  if (options.report !== false) await writeReport(runDir);
  return { runDir, metrics, state, backend };
}

/** Image-level labels after training: thresholds tuned on validation, both splits scored, predictions and reports written. */
async function finishLabelRun(
  model: tf.LayersModel,
  schema: LabelSchema,
  criterion: Criterion,
  parts: { valLoader: BatchSource; testLoader?: BatchSource; level: Experiment['data']['level']; zeroDivision: 0 | 1; thresholdKind: Experiment['evaluation']['thresholds']; runDir: string },
): Promise<RunResult['metrics']> {
  const { valLoader, testLoader, level, runDir } = parts;
  const settings = { zeroDivision: parts.zeroDivision };
  const valPredictions = await predict(model, valLoader, schema, { level, criterion });
  const thresholds = tuneThresholds(schema, valPredictions, { kind: parts.thresholdKind, zeroDivision: settings.zeroDivision, source: 'validation' });
  const metrics: RunResult['metrics'] = { val: scorePredictions(schema, valPredictions, { zeroDivision: settings.zeroDivision, thresholds }) };
  writeFileAtomic(join(runDir, 'predictions-oof.csv'), predictionsCsv(schema, valPredictions));
  if (testLoader) {
    const testPredictions = await predict(model, testLoader, schema, { level, criterion });
    metrics.test = scorePredictions(schema, testPredictions, { zeroDivision: settings.zeroDivision, thresholds });
    if (binaryClassNames(schema).length > 0) {
      const binary = binaryView(schema, testPredictions);
      metrics.baseline = allPositiveBaseline(schema, testPredictions, settings.zeroDivision);
      const report = classificationReport(binary.scores, binary.targets!, { classes: binary.classes, thresholds, zeroDivision: settings.zeroDivision });
      writeClassificationReport(report, join(runDir, 'classification-report'));
    }
    writeFileAtomic(join(runDir, 'predictions-test.csv'), predictionsCsv(schema, testPredictions));
  }
  if (thresholds) writeJsonAtomic(join(runDir, 'thresholds.json'), thresholds);
  return metrics;
}

/** The report reads only the finished run directory, so a failure here loses no result: say so and go on. */
async function writeReport(runDir: string): Promise<void> {
  try {
    const report = await writeRunReport(runDir);
    for (const note of report.notes) log.debug(`report: ${note}`);
  } catch (error) {
    log.warn(`report.html not written: ${(error as Error).message} (\`sliceseq report ${runDir}\` tries again)`);
  }
}
