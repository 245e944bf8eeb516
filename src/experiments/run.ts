import * as tf from '@tensorflow/tfjs';
import { mkdirSync } from 'node:fs';
import { initBackend, type BackendChoice } from '../backend/select.ts';
import { nativeSummaryWriter } from '../backend/summary-writer.ts';
import { Interrupt } from '../core/interrupt.ts';
import { log } from '../core/log.ts';
import { Rng } from '../core/rng.ts';
import { packageVersion } from '../core/version.ts';
import { loadDataset } from '../data/datasets/registry.ts';
import type { Dataset } from '../data/datasets/types.ts';
import { defaultWorkers } from '../data/decode-pool.ts';
import { EmbeddingLoader } from '../data/embedding-loader.ts';
import { PatientLoader, type BatchSource } from '../data/loader.ts';
import type { Patient } from '../data/patients.ts';
import { buildPreprocess } from '../data/preprocess.ts';
import { holdout, kFold, splitItems } from '../data/splits.ts';
import { schemaDifference } from '../labels/schema.ts';
import type { CriterionFn } from '../losses/criterion.ts';
import { listSome } from '../metrics/policy.ts';
import { buildModel } from '../models/build.ts';
import { headWeights } from '../models/heads/head.ts';
import { pretrainedRecord, type PretrainedConfig } from '../models/pretrained/load.ts';
import { writeRunReport } from '../report/run-report.ts';
import { writeRunConfig } from '../runs/config-file.ts';
import { writeEnvironment, type RunEnvironment } from '../runs/environment.ts';
import { writeHistory } from '../runs/history.ts';
import { runDirectory, runPath } from '../runs/layout.ts';
import { writeRunMetrics } from '../runs/metrics-file.ts';
import { writeRunModel } from '../runs/model.ts';
import { checkResume, recordResumeChanges } from '../runs/resume.ts';
import { clearRun, planRunStart, writeSkippedFiles, type RunStart } from '../runs/run-dir.ts';
import { TrainingLog } from '../runs/training-log.ts';
import { Checkpoints, type TrainingState } from '../train/checkpoint.ts';
import { createOptimizer, type TrainingOptimizer } from '../train/optimizers.ts';
import { createSchedule, type Schedule } from '../train/schedules.ts';
import { fit, type FitSettings } from '../train/trainer.ts';
import type { Experiment, ExperimentInput } from './config.ts';
import { openEmbeddingsInput } from './embeddings-input.ts';
import { runDataRecord } from './run-data.ts';
import { DATA_LOCATION_FIELDS, givenDataRoot, resolveExperiment, type ResolveOptions } from './resolve.ts';
import { taskFor, type LoaderFor, type RunScores, type Task } from './tasks/index.ts';

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
  metrics: RunScores;
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

/**
 * Runs one experiment end to end and writes its run directory: config.json, environment.json, history.jsonl,
 * checkpoints/, model/, metrics.json, and the files of its task (tasks/: predictions, thresholds, …).
 */
export async function runExperiment(input: ExperimentInput, options: RunOptions): Promise<RunResult> {
  const experiment = resolveExperiment(input, options);
  const runDir = runDirectory(options.out, { name: experiment.name, seed: experiment.seed, fold: experiment.split.fold }, options.runName);
  const checkpoints = new Checkpoints(runPath(runDir, 'checkpoints'));
  // Nothing is written before the first epoch starts: a run refused on the way leaves the folder as it found it.
  const command = options.command ?? 'run';
  const start = planRunStart(runDir, { ...options, command });
  if (start !== 'resume' && options.allowChanges?.length) throw new Error(`--allow-changes: ${runDir} holds no run to resume`);

  // 1. The task (image-level labels or dense maps) checks the experiment against the dataset before any slice is read.
  const backend = await initBackend(experiment.backend, { threads: experiment.threads || undefined });
  const dataset = await loadDataset(experiment.data.dataset, { cacheDir: experiment.data.indexDir });
  const task = taskFor(experiment, dataset);
  task.check();
  const criterion = task.criterion();

  // 2. The split, two-stage embeddings, what the run records of its data (a resume must match it), the loaders.
  const external = await loadExternalTest(experiment, dataset);
  const split = splitPatients(dataset, experiment, external);
  log.info(`data: ${dataset.patients.length} patients (${split.train.length} train, ${split.val.length} val, ${split.test.length} test) from ${dataset.source}${external ? `; test patients from ${external.source}` : ''}`);
  const embeddings = experiment.data.embeddings
    ? await openEmbeddingsInput(experiment.data.embeddings, { patients: dataset.patients, heldOut: [...split.val, ...split.test] })
    : undefined;
  const data = await runDataRecord(experiment, dataset, external, givenDataRoot(input, options));
  const resume = start === 'resume'
    ? checkResume(runDir, experiment, data.fingerprint, { allowed: options.allowChanges, location: DATA_LOCATION_FIELDS, migrate: (saved) => resolveExperiment(saved as ExperimentInput) })
    : undefined;
  const pretrained = experiment.model.backbone && !embeddings ? pretrainedRecord(experiment.model.backbone as Partial<PretrainedConfig>) : undefined;
  if (pretrained) log.info(`backbone weights: ${pretrained.path} (${pretrained.format}), input normalisation '${pretrained.normalize}'`);
  const loaderFor = runLoaders(experiment, task, embeddings);
  const trainLoader = loaderFor(split.train, true);
  // Validation covers every slice, each epoch as at the end: one validation loss per epoch, on the rows the final
  // predictions hold, the same number in history.jsonl and metrics.json (maxSlices bounds training only).
  const valLoader = loaderFor(split.val, false, true);

  // 3. The model, shaped by the data as preprocessed; optimizer and schedule.
  const inputShape = await probeInputShape(valLoader);
  const model = buildModel(experiment.model, { schema: task.targets.labelSchema, dense: task.targets.dense, rng: Rng.derive(experiment.seed, 'model'), inputShape, level: experiment.data.level });
  const optimizer = createOptimizer(experiment.optimizer);
  const schedule = createSchedule(experiment.schedule);

  // 4. Train. The run directory appears as the first epoch starts; a resume records its allowed changes once restored.
  if (!resume) startRunDirectory(runDir, start, { experiment, dataset, backend, command, data, split, pretrained, embeddings });
  const onStart = () => resume && recordResumeChanges(runDir, resume, experiment, data);
  const state = await train(task, runDir, experiment, { model, criterion, optimizer, schedule, trainLoader, valLoader, checkpoints }, onStart);
  if (state.stopped === 'interrupted') {
    disposeAll(model, optimizer);
    return { runDir, metrics: { val: {} }, state, backend };
  }

  // 5. The best epoch: its task scores it (thresholds fitted on validation only) and writes its files; metrics.json, model/.
  checkpoints.loadWeights(model, 'best');
  const metrics = await task.finish({ model, criterion, experiment, split, loaderFor, valLoader, runDir });
  writeRunMetrics(runDir, { best_epoch: state.best?.epoch ?? null, stopped: state.stopped ?? null, ...metrics });
  await writeRunModel(runDir, model);
  disposeAll(model, optimizer);
  if (options.report !== false) await writeReport(runDir);
  return { runDir, metrics, state, backend };
}

type OpenedEmbeddings = Awaited<ReturnType<typeof openEmbeddingsInput>>;

/**
 * The run's loaders: slice embeddings cached by `sliceseq extract` (two-stage mode) or images through the
 * preprocessing pipeline. Final predictions (out-of-fold and test) cover every slice of every patient, the whole
 * series in one pass (`everySlice`; docs/results.md "Reproduce a leaderboard score"); maxSlices bounds only
 * training and epoch selection.
 */
function runLoaders(experiment: Experiment, task: Task, embeddings: OpenedEmbeddings | undefined): LoaderFor {
  const { labelSchema, dense, sliceTargets } = task.targets;
  const { data, seed } = experiment;
  const batchSize = experiment.train.batchSize;
  const preprocess = buildPreprocess(data.preprocess);
  return (patients, train, everySlice = false) =>
    embeddings
      ? new EmbeddingLoader(
          { patients, labelSchema, cache: embeddings.cache },
          { batchSize, seed, shuffle: train, maxSlices: everySlice ? undefined : data.maxSlices, sliceLimit: data.sliceLimit, sliceTargets },
        )
      : new PatientLoader(
          { patients, labelSchema, ...(dense ? { dense } : {}) },
          {
            batchSize,
            seed,
            shuffle: train,
            augment: train,
            augmentPerSlice: data.augmentPerSlice,
            prefetch: data.prefetch,
            workers: data.workers ?? defaultWorkers(),
            maxSlices: everySlice ? undefined : data.maxSlices,
            sliceLimit: data.sliceLimit,
            sliceTargets,
            ...(data.cacheDir ? { cacheDir: data.cacheDir } : {}),
            ...(data.cacheMaxGiB ? { cacheMaxBytes: data.cacheMaxGiB * 2 ** 30 } : {}),
            ...(data.cachePrecision ? { cachePrecision: data.cachePrecision } : {}),
          },
          { pipeline: preprocess },
        );
}

/** The model's input shape, from one patient through the evaluation pipeline: embeddings batches are [b, s, features], image batches [b, s, height, width, channels]. */
async function probeInputShape(valLoader: BatchSource): Promise<{ features: number } | { height: number; width: number; channels: number }> {
  const probe = await valLoader.epoch(0).next();
  if (probe.done) throw new Error('the validation split is empty');
  const [, , ...sliceShape] = probe.value.images.shape;
  probe.value.dispose();
  return sliceShape.length === 1 ? { features: sliceShape[0] } : { height: sliceShape[0], width: sliceShape[1], channels: sliceShape[2] };
}

/** A new (or restarted) run's first files: skipped-files.json, config.json and environment.json. */
function startRunDirectory(
  runDir: string,
  start: RunStart,
  run: { experiment: Experiment; dataset: Dataset; backend: BackendChoice; command: string; data: RunEnvironment['data']; split: { train: Patient[]; val: Patient[]; test: Patient[] }; pretrained?: RunEnvironment['pretrained']; embeddings?: OpenedEmbeddings },
): void {
  const { experiment, dataset, backend, split, pretrained, embeddings } = run;
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
    command: run.command,
    data: run.data,
    split: { train: split.train.map((p) => p.id), val: split.val.map((p) => p.id), test: split.test.map((p) => p.id) },
    ...(embeddings ? { embeddings: embeddings.provenance } : {}),
  });
}

/**
 * The training loop with its task's hooks, the run's Ctrl-C handling (core/interrupt.ts: the current batch
 * finishes and a checkpoint is saved; a second Ctrl-C exits 130 once that is on disk), history.jsonl after every
 * epoch, and steps.jsonl and TensorBoard's event files (docs/tensorboard.md) as the loop goes.
 */
async function train(
  task: Task,
  runDir: string,
  experiment: Experiment,
  parts: { model: tf.LayersModel; criterion: CriterionFn; optimizer: TrainingOptimizer; schedule: Schedule; trainLoader: BatchSource; valLoader: BatchSource; checkpoints: Checkpoints },
  onStart: () => void,
): Promise<TrainingState> {
  const interrupt = new Interrupt({ first: 'Ctrl-C: finishing the current step and saving a checkpoint (Ctrl-C again to exit as soon as it is saved)' });
  interrupt.saving = true;
  const stopListening = interrupt.listen();
  const { train: config, evaluation, data } = experiment;
  const settings: FitSettings = { epochs: config.epochs, level: data.level, monitor: config.monitor, gradientClip: config.gradientClip, earlyStopping: config.earlyStopping, zeroDivision: evaluation.zeroDivision };
  const trainingLog = new TrainingLog(runDir, { tensorboard: experiment.report.tensorboard, nativeWriter: nativeSummaryWriter });
  try {
    return await fit(
      {
        ...parts,
        ...task.fitHooks(parts.valLoader, parts.criterion, interrupt),
        onStart: (s) => {
          onStart();
          trainingLog.start(s.step);
        },
        onStep: (point) => trainingLog.step(point),
        onEpoch: (s) => {
          writeHistory(runDir, s.history);
          trainingLog.epoch(s.history.at(-1)!, headWeights(parts.model).map((w) => ({ name: w.originalName, values: w.read().dataSync() })));
        },
        interrupt,
      },
      settings,
    );
  } finally {
    stopListening();
    trainingLog.close();
  }
}

function disposeAll(model: tf.LayersModel, optimizer: TrainingOptimizer): void {
  model.dispose();
  optimizer.optimizer.dispose();
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
