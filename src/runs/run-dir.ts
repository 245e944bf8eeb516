import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import fg from 'fast-glob';
import { writeJsonAtomic } from '../core/atomic.ts';
import { loadThresholds, saveThresholds, type ThresholdSet } from '../metrics/thresholds.ts';
import { readAttention, type AttentionFile } from './attention.ts';
import { readDenseExamples, type DenseExamplesFile } from './dense-examples.ts';
import { readClassificationReport, type ClassificationReport } from './classification-report.ts';
import { readRunConfig, type RunConfig } from './config-file.ts';
import { readEnvironment, type RunEnvironment } from './environment.ts';
import { readHistory, type HistoryRecord } from './history.ts';
import { ABLATION_FILES, RUN_FILES, runPath, type RunFileKey } from './layout.ts';
import { readRunMetrics, type RunMetrics } from './metrics-file.ts';
import type { PredictionTable } from '../metrics/prediction-table.ts';
import { readRunPredictions } from './predictions.ts';
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
  /** The binary classes' predictions (scores, 0/1 targets) of each split. */
  validation?: PredictionTable;
  test?: PredictionTable;
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

/** What `runExperiment` does with its run directory: start a fresh run, continue the one there, or replace it. */
export type RunStart = 'start' | 'resume' | 'restart';

export interface RunStartOptions {
  /** `--resume`: continue the run there; refused when the directory holds none. */
  resume?: boolean;
  /** `--resume-or-start`: continue the run there, or start one when there is none. */
  resumeOrStart?: boolean;
  /** `--force`: replace a run already there; `own-runs`: only one the same `command` started (else refuse). */
  force?: boolean | 'own-runs';
  /** The command starting the run (recorded in environment.json). */
  command?: string;
}

/** Every name a run writes in its directory (the classification report's stem as its two files). */
const runOwnEntries = Object.entries(RUN_FILES).flatMap(([key, name]) => (key === 'classificationReport' ? [`${name}.json`, `${name}.md`] : [name]));

/** The names a run directory holds (its own files and an ablation trial's record). */
const runEntries = new Set<string>([...runOwnEntries, ABLATION_FILES.trial, ABLATION_FILES.trialLog]);

/** Entries of `dir` that no sliceseq run writes (a dataset, notes, another tool's output). */
export function foreignEntries(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((entry) => !runEntries.has(entry) && !(entry.startsWith('.') && entry.endsWith('.tmp')));
}

/**
 * Decides, before anything is written, what a run does with `runDir`, refusing every combination that could lose
 * or mix results: `--resume` with `--force`, `--resume` where there is no run, a run already there without
 * `--resume` or `--force`, and `--force` on a folder holding files no run writes.
 */
export function planRunStart(runDir: string, options: RunStartOptions): RunStart {
  const { resume, resumeOrStart, force } = options;
  if (force && (resume || resumeOrStart)) {
    throw new Error(`--resume and --force together: --force deletes the run ${runDir} that --resume would continue; pass one of them`);
  }
  const started = isRunStarted(runDir);
  const foreign = force && started ? foreignEntries(runDir) : [];
  if (foreign.length > 0) {
    throw new Error(
      `${runDir} holds files no sliceseq run writes (${foreign.slice(0, 5).join(', ')}${foreign.length > 5 ? ', …' : ''}); ` +
        'nothing there is deleted or overwritten: choose another --out (or run name), or move those files away',
    );
  }
  if (!started) {
    if (resume) {
      throw new Error(
        `--resume: ${runDir} holds no run to resume (no ${RUN_FILES.config}); check --out, --seed and split.fold, ` +
          'or pass --resume-or-start to start the run when there is none',
      );
    }
    return 'start';
  }
  if (resume || resumeOrStart) return 'resume';
  if (force === true) return 'restart';
  if (force === 'own-runs') {
    const madeBy = readEnvironment(runDir).command ?? 'run';
    if (madeBy === options.command) return 'restart';
    throw new Error(
      `${runDir} holds a run that \`sliceseq ${madeBy}\` started; ${options.command ?? 'this command'} replaces only its own runs: ` +
        'pass --resume to continue it, --force to replace it, or another --out',
    );
  }
  throw new Error(`run directory ${runDir} already exists: pass --resume to continue it or --force to start over`);
}

/** Deletes a run's own files from `runDir` before it starts over (an ablation trial's record and log stay). */
export function clearRun(runDir: string): void {
  for (const entry of runOwnEntries) rmSync(join(runDir, entry), { recursive: true, force: true });
}
