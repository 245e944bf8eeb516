import * as tf from '@tensorflow/tfjs';
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { initBackend, type BackendChoice } from '../backend/select.ts';
import { Interrupt } from '../core/interrupt.ts';
import { log } from '../core/log.ts';
import { Rng } from '../core/rng.ts';
import { packageVersion } from '../core/version.ts';
import { loadDataset } from '../data/datasets/registry.ts';
import type { Dataset } from '../data/datasets/types.ts';
import { PatientLoader, type Batch, type BatchSource } from '../data/loader.ts';
import { EmbeddingLoader } from '../data/embedding-loader.ts';
import { buildPreprocess } from '../data/preprocess.ts';
import { holdout, kFold, splitItems } from '../data/splits.ts';
import type { Patient } from '../data/patients.ts';
import type { DenseOrdinalGroup } from '../labels/dense-ordinal.ts';
import { binaryClassNames, schemaDifference, type LabelSchema } from '../labels/schema.ts';
import { listSome } from '../metrics/policy.ts';
import { buildCriterion, type Criterion } from '../losses/criterion.ts';
import { buildDenseCriterion } from '../losses/dense-criterion.ts';
import { writeAttention } from '../runs/attention.ts';
import { queryDecoders } from '../models/attention-maps.ts';
import { checkDenseMonitor, denseValidation, finishDenseRun } from './dense-run.ts';
import { buildModel } from '../models/build.ts';
import { pretrainedRecord, type PretrainedConfig } from '../models/pretrained/load.ts';
import { saveModel } from '../models/io.ts';
import { constantAnswers } from '../metrics/baselines.ts';
import { classificationReport, writeClassificationReport } from '../report/classification-report.ts';
import { writeRunReport } from '../report/run-report.ts';
import { Checkpoints, type TrainingState } from '../train/checkpoint.ts';
import { ATTENTION_PATIENTS, collectClassAttention, pickAttentionPatients } from './class-attention.ts';
import { baselineScores, checkMonitor, predict, scorePredictions, tuneThresholds, type ScoreBlock } from '../train/evaluate.ts';
import type { ThresholdSet } from '../metrics/thresholds.ts';
import { createOptimizer } from '../train/optimizers.ts';
import { createSchedule } from '../train/schedules.ts';
import { fit } from '../train/trainer.ts';
import { writeRunConfig } from '../runs/config-file.ts';
import { writeEnvironment } from '../runs/environment.ts';
import { writeHistory } from '../runs/history.ts';
import { TrainingLog } from '../runs/training-log.ts';
import { nativeSummaryWriter } from '../backend/summary-writer.ts';
import { headWeights } from '../models/heads/head.ts';
import { runDirectory, runPath } from '../runs/layout.ts';
import { writeRunMetrics } from '../runs/metrics-file.ts';
import type { PredictionTable } from '../metrics/prediction-table.ts';
import { writePredictions } from '../runs/predictions.ts';
import { checkResume, recordResumeChanges } from '../runs/resume.ts';
import { clearRun, planRunStart, writeRunThresholds, writeSkippedFiles } from '../runs/run-dir.ts';
import type { Experiment, ExperimentInput } from './config.ts';
import { defaultWorkers } from '../data/decode-pool.ts';
import { openEmbeddingsInput } from './embeddings-input.ts';
import { runDataRecord } from './run-data.ts';
import { DATA_LOCATION_FIELDS, givenDataRoot, resolveExperiment, type ResolveOptions } from './resolve.ts';

export { resolveExperiment };

export interface RunOptions extends ResolveOptions {
  /** Parent folder of run directories. */
  out: string;
  /** Continue the run in the run directory (refused when there is none); `resumeOrStart`: or start one. */
  resume?: boolean;
  resumeOrStart?: boolean;
  /** Config fields (or sections) a resume may change on purpose, e.g. `train.epochs`; recorded in environment.json. */
  allowChanges?: string[];
  /** Replace a run already in the run directory (`own-runs`: only one this `command` started). */
  force?: boolean | 'own-runs';
  /** The command starting the run, recorded in environment.json (default `run`). */
  command?: string;
  /** Override the run directory name (default `<name>-seed<seed>-fold<fold>`). */
  runName?: string;
  /** Write report.html and figures/ at the end (default true; `sliceseq report` can write it later). */
  report?: boolean;
}

export interface RunResult {
  runDir: string;
  metrics: { val: ScoreBlock; test?: ScoreBlock; baseline?: ScoreBlock };
  state: TrainingState;
  backend: BackendChoice;
}

/**
 * Test patients held out first (a fraction of the dataset, or every patient of the external test dataset), then
 * k folds over the rest; the run trains on k-1 folds and validates on one.
 */
function splitPatients(dataset: Dataset, experiment: Experiment, external?: Dataset): { train: Patient[]; val: Patient[]; test: Patient[] } {
  const { test, folds, fold } = experiment.split;
  const items = splitItems(dataset.patients);
  const fraction = typeof test === 'number' ? test : 0;
  // A dataset that names its own test patients (a manifest's split column) keeps them; otherwise a seeded draw.
  const fixed = dataset.testIds ? new Set(dataset.testIds) : undefined;
  const held = fixed
    ? { train: items.filter((i) => !fixed.has(i.id)).map((i) => i.id), val: [], test: items.filter((i) => fixed.has(i.id)).map((i) => i.id) }
    : fraction > 0
      ? holdout(items, { train: 1 - fraction, val: 0, test: fraction, seed: experiment.seed })
      : { train: items.map((i) => i.id), val: [], test: [] };
  const remaining = new Set(held.train);
  const chosen = kFold(items.filter((item) => remaining.has(item.id)), { k: folds, seed: experiment.seed })[fold];
  const byId = new Map(dataset.patients.map((p) => [p.id, p]));
  const pick = (ids: readonly string[]) => ids.map((id) => byId.get(id)!);
  return { train: pick(chosen.train), val: pick(chosen.val), test: external ? external.patients : pick(held.test) };
}

/** `split.test` naming a dataset: loaded, and refused unless it is labelled like the training data and shares no patient with it. */
async function loadExternalTest(experiment: Experiment, dataset: Dataset): Promise<Dataset | undefined> {
  const config = experiment.split.test;
  if (typeof config === 'number') return undefined;
  if (dataset.testIds) throw new Error(`split.test: ${dataset.source} holds out its own test patients (the manifest's splitColumn); name one test set, not both`);
  const external = await loadDataset(config, { cacheDir: experiment.data.cacheDir });
  if (!external.labelled || !external.labelSchema) throw new Error(`split.test: ${external.source} has no labels to score on (for rsna-ich, name them with labelsCsv)`);
  const difference = schemaDifference(dataset.labelSchema!, external.labelSchema, ['data.dataset is labelled', 'split.test is labelled']);
  if (difference) throw new Error(`split.test: ${difference}`);
  if (experiment.data.level === 'slice' && !external.sliceLabelled) throw new Error(`split.test: data.level 'slice' needs slice labels, which ${external.source} does not have`);
  const training = new Set(dataset.patients.map((p) => p.id));
  const shared = external.patients.filter((p) => training.has(p.id)).map((p) => p.id);
  if (shared.length > 0) throw new Error(`split.test: ${shared.length} patient(s) of ${external.source} are also in ${dataset.source} (${listSome(shared)}); a test set must be other patients`);
  return external;
}

/** Beside a split's F2 (baselines.ts `constantAnswers`), for the binary labels of a schema that has them. */
function constantAnswersOf(schema: LabelSchema, predictions: PredictionTable, thresholds: ThresholdSet | undefined, zeroDivision: 0 | 1): ScoreBlock {
  if (binaryClassNames(schema).length === 0) return {};
  return constantAnswers(predictions.binary().scoresAndTargets(), thresholds?.thresholds, zeroDivision);
}

/**
 * Runs one experiment end to end and writes its run directory: config.json, environment.json, history.jsonl,
 * checkpoints/, model/, thresholds.json, metrics.json, predictions (out-of-fold validation and test) as CSV.
 */
export async function runExperiment(input: ExperimentInput, options: RunOptions): Promise<RunResult> {
  const experiment = resolveExperiment(input, options);
  const runDir = runDirectory(options.out, { name: experiment.name, seed: experiment.seed, fold: experiment.split.fold }, options.runName);
  const checkpoints = new Checkpoints(runPath(runDir, 'checkpoints'));
  // Nothing is written before the first epoch starts: a run refused on the way leaves the folder as it found it.
  const command = options.command ?? 'run';
  const start = planRunStart(runDir, { ...options, command });
  const resuming = start === 'resume';
  if (!resuming && options.allowChanges?.length) throw new Error(`--allow-changes: ${runDir} holds no run to resume`);

  const backend = await initBackend(experiment.backend, { threads: experiment.threads || undefined });
  const dataset = await loadDataset(experiment.data.dataset, { cacheDir: experiment.data.indexDir });
  if ((!dataset.labelSchema && !dataset.dense) || !dataset.labelled) throw new Error(`data.dataset: ${dataset.source} has no labels to train on`);
  const dense = dataset.dense;
  if (dense) checkDenseExperiment(experiment, dataset, dense);
  else if (experiment.model.dense) throw new Error('model.dense: a dense model needs mask files in the dataset (the manifest\'s masks option)');
  const schema = dataset.labelSchema;
  const level = experiment.data.level;
  if (level === 'slice' && !dataset.sliceLabelled && !dense) throw new Error(`data.level: 'slice' needs slice labels, which ${dataset.source} does not have`);
  if (dense) checkDenseMonitor(experiment.train.monitor, 'train.monitor');
  else checkMonitor(schema!, experiment.train.monitor, 'train.monitor');
  const external = await loadExternalTest(experiment, dataset);
  const split = splitPatients(dataset, experiment, external);
  log.info(`data: ${dataset.patients.length} patients (${split.train.length} train, ${split.val.length} val, ${split.test.length} test) from ${dataset.source}${external ? `; test patients from ${external.source}` : ''}`);
  // Two-stage mode: the model reads slice embeddings cached by `sliceseq extract`, refused unless they are the extraction the experiment names.
  const embeddings = experiment.data.embeddings
    ? await openEmbeddingsInput(experiment.data.embeddings, { patients: dataset.patients, heldOut: [...split.val, ...split.test] })
    : undefined;

  const data = await runDataRecord(experiment, dataset, external, givenDataRoot(input, options));
  const resume = resuming
    ? checkResume(runDir, experiment, data.fingerprint, {
        allowed: options.allowChanges,
        location: DATA_LOCATION_FIELDS,
        migrate: (saved) => resolveExperiment(saved as ExperimentInput),
      })
    : undefined;
  // Pretrained backbone weights: the file and the input normalisation that travels with them, as the run used them.
  const pretrained = experiment.model.backbone && !experiment.data.embeddings ? pretrainedRecord(experiment.model.backbone as Partial<PretrainedConfig>) : undefined;
  if (pretrained) log.info(`backbone weights: ${pretrained.path} (${pretrained.format}), input normalisation '${pretrained.normalize}'`);

  const preprocess = buildPreprocess(experiment.data.preprocess);
  // Final predictions (out-of-fold and test) cover every slice of every patient: the whole series in one pass
  // (see README "Reproduce a leaderboard score"); maxSlices bounds only training and epoch selection.
  const loaderFor = (patients: Patient[], train: boolean, everySlice = false): BatchSource =>
    embeddings
      ? new EmbeddingLoader(
          { patients, labelSchema: schema, cache: embeddings.cache },
          { batchSize: experiment.train.batchSize, seed: experiment.seed, shuffle: train, maxSlices: everySlice ? undefined : experiment.data.maxSlices, sliceLimit: experiment.data.sliceLimit, sliceTargets: level === 'slice' },
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
            workers: experiment.data.workers ?? defaultWorkers(),
            maxSlices: everySlice ? undefined : experiment.data.maxSlices,
            sliceLimit: experiment.data.sliceLimit,
            sliceTargets: level === 'slice' && !dense,
            ...(experiment.data.cacheDir ? { cacheDir: experiment.data.cacheDir } : {}),
            ...(experiment.data.cacheMaxGiB ? { cacheMaxBytes: experiment.data.cacheMaxGiB * 2 ** 30 } : {}),
            ...(experiment.data.cachePrecision ? { cachePrecision: experiment.data.cachePrecision } : {}),
          },
          { pipeline: preprocess },
        );
  const trainLoader = loaderFor(split.train, true);
  // Validation covers every slice, each epoch as at the end: one validation loss per epoch, on the rows of
  // predictions-oof.csv, the same number in history.jsonl and metrics.json (maxSlices bounds training only).
  const valLoader = loaderFor(split.val, false, true);

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

  // The run directory appears as the first epoch starts (a resume records its allowed changes once its checkpoint is restored).
  if (!resume) {
    if (start === 'restart') clearRun(runDir);
    mkdirSync(runDir, { recursive: true });
    if (dataset.skipped.length > 0) writeSkippedFiles(runDir, dataset.skipped);
    writeRunConfig(runDir, experiment);
    writeEnvironment(runDir, {
      sliceseq: packageVersion(),
      node: process.version,
      tfjs: tf.version.tfjs,
      backend: backend.kind,
      device: backend.device,
      threads: backend.threads,
      ...(backend.library ? { tensorflow: backend.library } : {}),
      ...(backend.gpu ? { gpu: backend.gpu } : {}),
      ...(pretrained ? { pretrained } : {}),
      seed: experiment.seed,
      command,
      data,
      split: { train: split.train.map((p) => p.id), val: split.val.map((p) => p.id), test: split.test.map((p) => p.id) },
      ...(embeddings ? { embeddings: embeddings.provenance } : {}),
    });
  }

  // Ctrl-C: the current batch finishes and a checkpoint is saved; a second Ctrl-C exits 130 once that is on disk.
  const interrupt = new Interrupt({ first: 'Ctrl-C: finishing the current step and saving a checkpoint (Ctrl-C again to exit as soon as it is saved)' });
  interrupt.saving = true;
  const stopListening = interrupt.listen();
  const settings = { epochs: experiment.train.epochs, level, monitor: experiment.train.monitor, gradientClip: experiment.train.gradientClip, earlyStopping: experiment.train.earlyStopping, zeroDivision: experiment.evaluation.zeroDivision };
  // steps.jsonl and TensorBoard's event files (docs/tensorboard.md), written as the loop goes.
  const trainingLog = new TrainingLog(runDir, { tensorboard: experiment.report.tensorboard, nativeWriter: nativeSummaryWriter });
  let state: TrainingState;
  try {
    state = await fit(
      {
        model, schema, criterion, optimizer, schedule, trainLoader, valLoader, checkpoints,
        ...(dense ? { targetsOf: (batch: Batch<tf.Tensor>) => batch.maps, validate: denseValidation(dense, valLoader, criterion) } : {}),
        onStart: (s) => {
          if (resume) recordResumeChanges(runDir, resume, experiment, data);
          trainingLog.start(s.step);
        },
        onStep: (point) => trainingLog.step(point),
        onEpoch: (s) => {
          writeHistory(runDir, s.history);
          trainingLog.epoch(s.history.at(-1)!, headWeights(model).map((w) => ({ name: w.originalName, values: w.read().dataSync() })));
        },
        interrupt,
      },
      settings,
    );
  } finally {
    stopListening();
    trainingLog.close();
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
            trainLoader: loaderFor(split.train, false),
        valLoader,
        ...(split.test.length > 0 ? { testLoader: loaderFor(split.test, false, true) } : {}),
      })
    : await finishLabelRun({ model, schema: schema!, criterion: criterion as Criterion, experiment, split, loaderFor, valLoader, runDir });
  writeRunMetrics(runDir, { best_epoch: state.best?.epoch ?? null, stopped: state.stopped ?? null, ...metrics });
  const modelDir = runPath(runDir, 'model');
  const stagingDir = runPath(runDir, 'modelStaging');
  rmSync(stagingDir, { recursive: true, force: true });
  await saveModel(model, stagingDir);
  rmSync(modelDir, { recursive: true, force: true });
  renameSync(stagingDir, modelDir);
  model.dispose();
  optimizer.optimizer.dispose();
  if (options.report !== false) await writeReport(runDir);
  return { runDir, metrics, state, backend };
}

/**
 * Image-level labels after training: thresholds tuned on validation predictions only, then applied to test; both
 * splits scored over every slice of every patient, predictions, the classification report and (query decoders)
 * class attention written.
 */
async function finishLabelRun(parts: {
  model: tf.LayersModel;
  schema: LabelSchema;
  criterion: Criterion;
  experiment: Experiment;
  split: { val: Patient[]; test: Patient[] };
  loaderFor: (patients: Patient[], train: boolean, everySlice?: boolean) => BatchSource;
  valLoader: BatchSource;
  runDir: string;
}): Promise<RunResult['metrics']> {
  const { model, schema, criterion, experiment, split, loaderFor, runDir } = parts;
  const level = experiment.data.level;
  const zeroDivision = experiment.evaluation.zeroDivision;
  const valPredictions = await predict(model, parts.valLoader, schema, { level, criterion });
  const thresholds = tuneThresholds(schema, valPredictions, { kind: experiment.evaluation.thresholds, zeroDivision, source: 'validation' });
  const metrics: RunResult['metrics'] = { val: { ...scorePredictions(schema, valPredictions, { zeroDivision, thresholds }), ...constantAnswersOf(schema, valPredictions, thresholds, zeroDivision) } };
  writePredictions(runDir, 'validation', valPredictions);
  if (split.test.length > 0) {
    const testPredictions = await predict(model, loaderFor(split.test, false, true), schema, { level, criterion });
    const testBaselines = constantAnswersOf(schema, testPredictions, thresholds, zeroDivision);
    metrics.test = { ...scorePredictions(schema, testPredictions, { zeroDivision, thresholds }), ...testBaselines };
    if (binaryClassNames(schema).length > 0) {
      const binary = testPredictions.binary();
      // `baseline`: the all-positive answer's full score block on test; every block also carries both constant answers' F2.
      metrics.baseline = baselineScores(schema, testPredictions, zeroDivision);
      const report = classificationReport(binary.scores, binary.targets(), { classes: [...binary.columns], thresholds, zeroDivision });
      writeClassificationReport(report, runPath(runDir, 'classificationReport'));
    }
    writePredictions(runDir, 'test', testPredictions);
    // Query decoders: what each class looked at, for a few test patients (the report draws it beside their slices).
    if (queryDecoders(model).length > 0) {
      const chosen = pickAttentionPatients(split.test, ATTENTION_PATIENTS, { maxSlices: experiment.data.maxSlices, sliceLimit: experiment.data.sliceLimit });
      writeAttention(runDir, await collectClassAttention(model, loaderFor(chosen.patients, false), chosen.positions, 'test'));
    }
  }
  if (thresholds) writeRunThresholds(runDir, thresholds);
  return metrics;
}

/**
 * What a dense-ordinal dataset asks of the experiment: a dense model, images (not embeddings) decoded afresh (no
 * decoded-slice cache), no image-level labels beside the maps, and a test set the dataset itself or a fraction
 * holds out (not another dataset).
 */
function checkDenseExperiment(experiment: Experiment, dataset: Dataset, dense: DenseOrdinalGroup): void {
  if (dataset.labelSchema) throw new Error(`data.dataset: ${dataset.source} has both mask files and label columns; a run trains dense maps or image-level labels, not both`);
  if (experiment.data.embeddings) throw new Error('data.embeddings: dense maps are trained on images, not on cached slice embeddings');
  if (experiment.data.cacheDir) throw new Error('data.cacheDir: the decoded-slice cache does not hold mask files; leave it out for a dataset with masks');
  if (!experiment.model.dense) throw new Error(`model.dense: the dataset has dense-ordinal maps (group '${dense.name}'); name a dense model, e.g. { name: 'unet' }`);
  if (typeof experiment.split.test !== 'number') throw new Error('split.test: a dense-ordinal run holds out test patients by a fraction or the manifest\'s split column, not another dataset');
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
