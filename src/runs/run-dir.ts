import { existsSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import fg from 'fast-glob';
import { writeJsonAtomic } from '../core/atomic.ts';
import { loadThresholds, saveThresholds, type ThresholdSet } from '../metrics/thresholds.ts';
import { readAttention, type AttentionFile } from './attention.ts';
import { readDenseExamples, type DenseExamplesFile } from './dense-examples.ts';
import { readClassificationReport, type ClassificationReport } from './classification-report.ts';
import { readRunConfig, type RunConfig } from './config-file.ts';
import { readEnvironment, type RunEnvironment } from './environment.ts';
import { readHistory, type HistoryRecord } from './history.ts';
import { RUN_FILES, runPath, type RunFileKey } from './layout.ts';
import { readRunMetrics, type RunMetrics } from './metrics-file.ts';
import { readRunPredictions, type BinaryPredictions } from './predictions.ts';
import { readStepsIfExists, type StepRecord } from './steps.ts';

/**
 * A run directory as a whole: whether it has started or finished, everything it holds read back at once (for
 * reports), and every run below a folder (for leaderboards).
 */

/** A run has started once it wrote its config (at its first epoch), and finished once it wrote metrics.json. */
export function isRunStarted(runDir: string): boolean {
  return existsSync(runPath(runDir, 'config'));
}

export function isRunFinished(runDir: string): boolean {
  return existsSync(runPath(runDir, 'metrics'));
}

export function writeRunThresholds(runDir: string, thresholds: ThresholdSet): void {
  saveThresholds(runPath(runDir, 'thresholds'), thresholds);
}

export function readRunThresholds(runDir: string): ThresholdSet {
  return loadThresholds(runPath(runDir, 'thresholds'));
}

/** `skipped-files.json`: the slice files the dataset could not read, as the dataset listed them. */
export function writeSkippedFiles(runDir: string, skipped: readonly unknown[]): void {
  writeJsonAtomic(runPath(runDir, 'skippedFiles'), skipped);
}

/** Everything a run directory holds for its report; each file is optional (an interrupted or old run has fewer). */
export interface RunFiles {
  dir: string;
  name: string;
  config?: RunConfig;
  environment?: RunEnvironment;
  /** One record per epoch, in file order. */
  history: HistoryRecord[];
  /** steps.jsonl: per-step loss and learning rate (runs before sliceseq 0.2 have none; never listed as missing). */
  steps?: StepRecord[];
  metrics?: RunMetrics;
  thresholds?: ThresholdSet;
  classificationReport?: ClassificationReport;
  /** The binary classes the predictions are read for (from thresholds.json or classification-report.json). */
  classes: string[];
  validation?: BinaryPredictions;
  test?: BinaryPredictions;
  /** attention.json: only runs whose label decoder is the class-query decoder write it (never listed as missing). */
  attention?: AttentionFile;
  /** dense-examples.json: only dense-ordinal runs write it (never listed as missing). */
  denseExamples?: DenseExamplesFile;
  /** File names that are absent (the report says which sections they would have filled). */
  missing: string[];
}

/** Reads every file a run directory has; a file present but malformed is an error naming it. */
export async function readRunFiles(runDir: string): Promise<RunFiles> {
  const dir = resolve(runDir);
  if (!existsSync(dir)) throw new Error(`run directory ${dir} does not exist`);
  const missing: string[] = [];
  const read = <T>(key: RunFileKey, reader: (dir: string) => T, file = runPath(dir, key)): T | undefined => {
    if (existsSync(file)) return reader(dir);
    missing.push(basename(file));
    return undefined;
  };
  const thresholds = read('thresholds', readRunThresholds);
  const classificationReport = read('classificationReport', readClassificationReport, `${runPath(dir, 'classificationReport')}.json`);
  const classes = thresholds?.classes ?? classificationReport?.classes.map((row) => row.label) ?? [];
  const config = read('config', readRunConfig);
  const environment = read('environment', readEnvironment);
  const history = read('history', readHistory) ?? [];
  const steps = readStepsIfExists(dir);
  const metrics = read('metrics', readRunMetrics);
  const predictions = (key: RunFileKey, split: 'validation' | 'test') =>
    read(key, (d) => (classes.length > 0 ? readRunPredictions(d, split, classes) : undefined));
  const validation = await predictions('predictionsValidation', 'validation');
  const test = await predictions('predictionsTest', 'test');
  const attention = existsSync(runPath(dir, 'attention')) ? readAttention(dir) : undefined;
  const denseExamples = existsSync(runPath(dir, 'denseExamples')) ? readDenseExamples(dir) : undefined;
  return { dir, name: basename(dir), config, environment, history, ...(steps ? { steps } : {}), metrics, thresholds, classificationReport, classes, validation, test, attention, ...(denseExamples ? { denseExamples } : {}), missing };
}

/** A finished run as the leaderboard sees it. */
export interface FinishedRun {
  dir: string;
  config: RunConfig;
  metrics: RunMetrics;
}

/** Every finished run below `root` (directories with both config.json and metrics.json), sorted by path. */
export function findRuns(root: string): FinishedRun[] {
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new Error(`runs directory '${root}' does not exist`);
  return fg
    .sync(`**/${RUN_FILES.metrics}`, { cwd: root, absolute: true, ignore: ['**/node_modules/**'] })
    .sort()
    .map((file) => dirname(file))
    .filter(isRunStarted)
    .map((dir) => ({ dir, config: readRunConfig(dir), metrics: readRunMetrics(dir) }));
}
