import { join, resolve } from 'node:path';

/**
 * The names of everything in a run directory, an ablation folder and a cross-validation folder. Nothing else in
 * sliceseq spells these names: readers and writers take a directory and ask here for the path.
 *
 * A single run (`<out>/<name>-seed<seed>-fold<fold>/`):
 *   config.json             the resolved experiment the run trained (config-file.ts)
 *   environment.json        versions, backend, data fingerprint and split (environment.ts)
 *   history.jsonl           one record per finished epoch (history.ts)
 *   steps.jsonl             training loss and learning rate of single steps, at most 10,000 of them (steps.ts)
 *   tensorboard/train/, tensorboard/val/   TensorBoard event files: two sub-runs whose curves overlay (tensorboard.ts)
 *   checkpoints/            training state for --resume (train/checkpoint.ts owns its inside)
 *   model/                  the best epoch's model (models/io.ts), staged in .model-staging/ first
 *   thresholds.json         thresholds tuned on validation predictions (metrics/thresholds.ts)
 *   metrics.json            validation and test scores of the best epoch (metrics-file.ts)
 *   predictions-oof.csv     validation (out-of-fold) predictions (predictions.ts)
 *   predictions-test.csv    test predictions (predictions.ts)
 *   classification-report.json / .md   per-label report on the test split (classification-report.ts)
 *   skipped-files.json      slice files the dataset could not read
 *   attention.json          class-query decoders: per-class attention over a few test patients' slices (attention.ts)
 *   dense-thresholds.json   dense-ordinal runs: the thresholds that grade each type's output (dense-thresholds.ts)
 *   dense-examples.json     dense-ordinal runs: a few validation slices' true and predicted grade maps (dense-examples.ts)
 *   report.html, figures/   the run report (report/run-report.ts)
 *
 * An ablation folder (`<out>/<ablation>/`): ablation.json (the plan), one run directory per trial, each with
 * trial.json (who ran it, when) and trial.log (a child process's output), ablation-summary.json / .md, report.html,
 * compare.html (the trials' curves overlaid, linked from report.html).
 *
 * A cross-validation folder (`<out>/<name>-seed<seed>-cv/`) is an ablation folder of one variant (ablation.json,
 * one run directory per fold named as a single run, `<name>-seed<seed>-fold<k>/`, with trial.json) and, once every
 * fold has finished, a run-like result: config.json, thresholds.json (tuned on all out-of-fold predictions),
 * predictions-oof.csv (pooled), predictions-test.csv (the fold ensemble), metrics.json (`val` = out of fold,
 * `test` = ensemble), cv-summary.json and report.html. It has no model/: `sliceseq predict` on it uses every fold.
 */
export const RUN_FILES = {
  config: 'config.json',
  environment: 'environment.json',
  history: 'history.jsonl',
  steps: 'steps.jsonl',
  /** TensorBoard's log folder of the run: `train/` and `val/` below it (never listed as missing). */
  tensorboard: 'tensorboard',
  checkpoints: 'checkpoints',
  model: 'model',
  modelStaging: '.model-staging',
  thresholds: 'thresholds.json',
  metrics: 'metrics.json',
  predictionsValidation: 'predictions-oof.csv',
  predictionsTest: 'predictions-test.csv',
  /** A stem: written as `.json` (read back) and `.md` (for people). */
  classificationReport: 'classification-report',
  skippedFiles: 'skipped-files.json',
  /** Only runs whose label decoder is the class-query decoder write it (never listed as missing). */
  attention: 'attention.json',
  /** Only dense-ordinal runs write these two (never listed as missing). */
  denseThresholds: 'dense-thresholds.json',
  denseExamples: 'dense-examples.json',
  report: 'report.html',
  figures: 'figures',
} as const;

export const ABLATION_FILES = {
  plan: 'ablation.json',
  trial: 'trial.json',
  trialLog: 'trial.log',
  summaryJson: 'ablation-summary.json',
  summaryMarkdown: 'ablation-summary.md',
  report: 'report.html',
  figures: 'figures',
  /** `sliceseq compare` over the trials (report/compare.ts), its figures in compare-figures/. */
  compare: 'compare.html',
} as const;

export const CROSS_VALIDATION_FILES = {
  summary: 'cv-summary.json',
  report: 'report.html',
  figures: 'figures',
} as const;

export type RunFileKey = keyof typeof RUN_FILES;

/** The path of one file or folder of the run directory `runDir`. */
export function runPath(runDir: string, key: RunFileKey): string {
  return join(runDir, RUN_FILES[key]);
}

export function ablationPath(ablationDir: string, key: keyof typeof ABLATION_FILES): string {
  return join(ablationDir, ABLATION_FILES[key]);
}

export function crossValidationPath(cvDir: string, key: keyof typeof CROSS_VALIDATION_FILES): string {
  return join(cvDir, CROSS_VALIDATION_FILES[key]);
}

/** A single run's directory name: `<experiment>-seed<seed>-fold<fold>`. */
export function runDirName(experiment: string, seed: number, fold: number): string {
  return `${experiment}-seed${seed}-fold${fold}`;
}

/** The run directory of one experiment below `out` (`name` overrides the default name). */
export function runDirectory(out: string, experiment: { name: string; seed: number; fold: number }, name?: string): string {
  return resolve(out, name ?? runDirName(experiment.name, experiment.seed, experiment.fold));
}

/** A cross-validation folder's name. */
export function crossValidationDirName(experiment: string, seed: number): string {
  return `${experiment}-seed${seed}-cv`;
}

