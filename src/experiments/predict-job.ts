import { existsSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { initBackend, type BackendPreference } from '../backend/select.ts';
import { log } from '../core/log.ts';
import { readCsv } from '../data/datasets/csv.ts';
import { datasets, loadDataset, type DatasetConfig } from '../data/datasets/registry.ts';
import type { Dataset } from '../data/datasets/types.ts';
import { loadThresholds, type ThresholdSet } from '../metrics/thresholds.ts';
import { writeSubmission, type WriteFormat } from '../metrics/submission/write.ts';
import { readRunConfig } from '../runs/config-file.ts';
import { RUN_FILES, runPath } from '../runs/layout.ts';
import { hasRunModel, readRunModel } from '../runs/model.ts';
import { findRuns, isRunFinished, isRunStarted, readRunThresholds } from '../runs/run-dir.ts';
import { Checkpoints } from '../train/checkpoint.ts';
import { binaryClassNames } from '../labels/schema.ts';
import { parseExperiment, type Experiment } from './config.ts';
import { predictEnsemble, probabilityColumns, type Decisions, type EnsembleMember, type TestTimeAugmentation } from './predict.ts';
import type { PredictionTable } from '../metrics/prediction-table.ts';
import { writePredictionsFile } from '../runs/predictions.ts';

/**
 * `sliceseq predict`: trained runs (one, several, or every finished run below an ablation or cross-validation
 * folder) predict a dataset, and the result is written as a predictions CSV and, optionally, a submission.
 */
export interface PredictJobOptions {
  /** Run directories, or folders holding finished runs. */
  runs: string[];
  /** Predictions CSV to write. */
  out: string;
  /** Replaces the runs' dataset root. */
  data?: string;
  /** The dataset's split option (rsna-ich: `test` reads stage_2_test/). */
  split?: string;
  /** A labels file for the dataset (rsna-ich `labelsCsv`), e.g. a solution, so the predictions carry targets. */
  labels?: string;
  /** Any registered dataset with its options, instead of the runs' own. */
  dataset?: DatasetConfig;
  weights?: 'best' | 'last';
  /** Ensemble weights, one per member in the order printed. */
  memberWeights?: number[];
  tta?: TestTimeAugmentation;
  /** `tuned` (the runs' own), `0.5`, or a thresholds.json file: adds label_<class> decisions; tags submissions use them. */
  thresholds?: string;
  batchSize?: number;
  submission?: string;
  format?: WriteFormat;
  sampleSubmission?: string;
  /** The backend and its threads (default: the first run's backend), and decode workers. */
  backend?: BackendPreference;
  threads?: number;
  workers?: number;
}

export interface PredictJobResult {
  /** With the decisions at the chosen thresholds, when given. */
  predictions: PredictionTable;
  level: 'patient' | 'slice';
  tta: TestTimeAugmentation;
  members: string[];
  out: string;
  submission?: string;
  thresholds?: ThresholdSet | 'fixed';
}

/** A finished run that `predict` can load: metrics.json and a saved model. */
function isPredictableRun(dir: string): boolean {
  return isRunFinished(dir) && hasRunModel(dir);
}

/** Each argument is a finished run, or a folder whose finished runs (below it, sorted by path) all join. */
export function expandRunDirs(paths: readonly string[]): string[] {
  const dirs: string[] = [];
  for (const path of paths) {
    const dir = resolve(path);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`${path}: no such run directory`);
    if (isPredictableRun(dir)) {
      dirs.push(dir);
      continue;
    }
    if (isRunStarted(dir) && !isRunFinished(dir)) {
      throw new Error(`${path}: an unfinished run (no ${RUN_FILES.metrics} or ${RUN_FILES.model}/ yet${existsSync(runPath(dir, 'checkpoints')) ? `; its ${RUN_FILES.checkpoints}/ hold the last epoch` : ''}): finish it with \`sliceseq run <experiment> --resume\` (same --out, --seed and --set as it started with), then predict`);
    }
    const found = findRuns(dir).map((run) => run.dir).filter(isPredictableRun);
    if (found.length === 0) throw new Error(`${path}: neither a finished run (metrics.json and model/) nor a folder holding any`);
    dirs.push(...found);
  }
  const unique = [...new Set(dirs)];
  if (unique.length !== dirs.length) throw new Error('predict: a run is named twice (directly and through its folder?)');
  return unique;
}

function memberOf(dir: string, weights: 'best' | 'last', weight?: number): EnsembleMember {
  const experiment: Experiment = parseExperiment(readRunConfig(dir), runPath(dir, 'config'));
  return {
    name: dir,
    experiment,
    ...(weight !== undefined ? { weight } : {}),
    load: async () => {
      const model = await readRunModel(dir);
      if (weights === 'last' && !new Checkpoints(runPath(dir, 'checkpoints')).loadWeights(model, 'last')) {
        model.dispose();
        throw new Error(`${dir}: --weights last needs the run's checkpoints/ (model/ holds only the best epoch)`);
      }
      return model;
    },
  };
}

/** The runs' dataset with the command line's changes, validated by the dataset registry. */
export function predictDatasetConfig(experiment: Experiment, options: Pick<PredictJobOptions, 'data' | 'split' | 'labels' | 'dataset'>): DatasetConfig {
  const config: DatasetConfig = structuredClone(options.dataset ?? experiment.data.dataset);
  if (options.data) config.root = resolve(options.data);
  const name = config.name;
  const known = Object.keys((datasets.get(name).schema as { shape?: Record<string, unknown> }).shape ?? {});
  const set = (key: string, value: string | undefined, flag: string) => {
    if (value === undefined) return;
    if (!known.includes(key)) throw new Error(`${flag}: the ${name} dataset has no '${key}' option (it takes ${known.join(', ')}); use --dataset`);
    config[key] = value;
  };
  // Another split has other labels: the training labels file (which older runs' configs name) does not carry over.
  if (options.split !== undefined && options.split !== config.split && !options.dataset) delete config.labelsCsv;
  set('split', options.split, '--split');
  set('labelsCsv', options.labels && resolve(options.labels), '--labels');
  const { name: _, ...datasetOptions } = config;
  datasets.resolve(name, datasetOptions, 'predict dataset');
  return config;
}

/** `tuned`: the run's own thresholds, or those a cross-validation folder tuned on all its out-of-fold predictions; `0.5`; or a thresholds file. */
function chooseThresholds(choice: string | undefined, runs: readonly string[], members: readonly string[]): ThresholdSet | 'fixed' | undefined {
  if (choice === undefined) return undefined;
  if (choice === '0.5') return 'fixed';
  if (choice !== 'tuned') return loadThresholds(choice);
  if (runs.length === 1 && existsSync(runPath(resolve(runs[0]), 'thresholds'))) return readRunThresholds(resolve(runs[0]));
  throw new Error(
    `--thresholds tuned: ${members.length > 1 ? `an ensemble of ${members.length} runs` : runs[0]} has no tuned thresholds of its own ` +
      `(a run and a cross-validation folder have them: thresholds.json); give --thresholds FILE or 0.5`,
  );
}

/** Per-class thresholds for the binary classes (0.5 each for `fixed`). */
function decisionsOf(set: ThresholdSet | 'fixed', classes: readonly string[]): Decisions {
  return set === 'fixed' ? { classes: [...classes], thresholds: classes.map(() => 0.5) } : set;
}

/** What a submission in `format` holds: the binary classes (rsna, tags) or every probability column (long, wide). */
function submissionPredictions(predictions: PredictionTable, format: WriteFormat) {
  const chosen = format === 'rsna' || format === 'tags' ? predictions.binary() : predictions.select(probabilityColumns(predictions.schema!));
  return { ids: chosen.ids, classes: chosen.columns, values: chosen.scores.data };
}

export async function runPredictJob(options: PredictJobOptions): Promise<PredictJobResult> {
  const dirs = expandRunDirs(options.runs);
  if (options.memberWeights && options.memberWeights.length !== dirs.length) {
    throw new Error(`--ensemble-weights: ${options.memberWeights.length} weights for ${dirs.length} runs (${dirs.map((d) => basename(d)).join(', ')})`);
  }
  const members = dirs.map((dir, i) => memberOf(dir, options.weights ?? 'best', options.memberWeights?.[i]));
  const thresholds = chooseThresholds(options.thresholds, options.runs, dirs);
  const datasetConfig = predictDatasetConfig(members[0].experiment, options);
  await initBackend(options.backend ?? members[0].experiment.backend, { threads: options.threads ?? (members[0].experiment.threads || undefined) });
  log.info(`predict: ${dirs.length} run(s): ${dirs.map((d) => basename(d)).join(', ')}${options.tta === 'flip' ? ' (+ flip TTA)' : ''}`);
  const dataset: Dataset = await loadDataset(datasetConfig, { cacheDir: members[0].experiment.data.cacheDir });
  const root = typeof datasetConfig.root === 'string' ? resolve(datasetConfig.root) : undefined;
  log.info(`predict: data ${dataset.source}${root && root !== dataset.source ? ` (root ${root}${root !== datasetConfig.root ? `, '${String(datasetConfig.root)}' from the working folder` : ''})` : ''}: ${dataset.patients.length} patients`);
  const predictions = await predictEnsemble(members, dataset, { tta: options.tta, batchSize: options.batchSize, cacheDir: members[0].experiment.data.cacheDir, workers: options.workers });
  const binaryClasses = binaryClassNames(predictions.schema!);
  const decisions = thresholds ? decisionsOf(thresholds, binaryClasses) : undefined;
  const table = decisions ? predictions.withDecisions(decisions) : predictions;
  writePredictionsFile(options.out, table);
  let submission: string | undefined;
  if (options.submission) {
    const format = options.format ?? (dataset.kind === 'rsna-ich' ? 'rsna' : 'wide');
    const sample = options.sampleSubmission ? await readCsv(options.sampleSubmission) : undefined;
    writeSubmission(options.submission, submissionPredictions(predictions, format), format, {
      ...(sample ? { sample } : {}),
      ...(format === 'tags' ? { thresholds: (decisions ?? decisionsOf('fixed', binaryClasses)).thresholds } : {}),
    });
    submission = options.submission;
  }
  // predict() names each slice-level row's patient.
  return { predictions: table, level: table.patients ? 'slice' : 'patient', tta: options.tta ?? 'none', members: dirs, out: options.out, ...(submission ? { submission } : {}), ...(thresholds ? { thresholds } : {}) };
}
