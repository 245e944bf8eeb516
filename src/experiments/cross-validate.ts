import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { log } from '../core/log.ts';
import { bootstrapInterval, type BootstrapInterval } from '../metrics/bootstrap.ts';
import { constantAnswers } from '../metrics/baselines.ts';
import { type LabelMatrix, type ScoreMatrix } from '../metrics/matrix.ts';
import { describeZeroDivision, type ZeroDivision } from '../metrics/policy.ts';
import { createMetric, scoreFunction } from '../metrics/registry.ts';
import { metricKeys, type MetricKey, type SplitScores } from '../metrics/scores.ts';
import { scoreSplit } from '../metrics/summary.ts';
import { targetColumns, type LabelSchema } from '../labels/schema.ts';
import { fitThresholds, type ThresholdSet } from '../metrics/thresholds.ts';
import { writeRunReport } from '../report/run-report.ts';
import { readAblationPlan } from '../runs/ablation-plan.ts';
import { readRunConfig, writeRunConfig } from '../runs/config-file.ts';
import { CROSS_VALIDATION_SUMMARY_FORMAT, writeCrossValidationSummary, type CrossValidationSummary } from '../runs/cross-validation-summary.ts';
import { ABLATION_FILES, ablationPath, crossValidationDirName, runPath } from '../runs/layout.ts';
import { metricValue, readRunMetrics, writeRunMetrics } from '../runs/metrics-file.ts';
import { readRunModelMetadata } from '../runs/model.ts';
import { PredictionTable } from '../metrics/prediction-table.ts';
import { predictionsPath, readPredictionsFile, writePredictions } from '../runs/predictions.ts';
import { isRunFinished, readRunThresholds, writeRunThresholds } from '../runs/run-dir.ts';
import { planAblation, parseAblation, type Ablation, type AblationTrial, type Shard } from './ablation.ts';
import { childCommand, runAblation, runTrial, trialFlags, type AblationRun, type TrialRunOptions } from './ablate.ts';
import { parseExperiment, type Experiment, type ExperimentInput } from './config.ts';
import { resolveExperiment, type ResolveOptions } from './resolve.ts';

/**
 * Cross-validation (`sliceseq run EXP --folds all`), the Kaggle recipe: train every fold of the experiment's
 * k-fold split (in this process, `--jobs N` child processes, or sharded over machines: it runs as an ablation of
 * one variant, so an interrupted or sharded cross-validation just runs again), then pool the out-of-fold
 * predictions of all training patients, tune the thresholds on the pool, report its metrics with a bootstrap
 * interval, and average the fold models' predictions of the held-out test split (each fold predicted every test
 * slice) as the ensemble, scored at the out-of-fold thresholds.
 */
export interface CrossValidateOptions extends ResolveOptions {
  out: string;
  jobs?: number;
  shard?: Shard;
  /** The experiment file: `--jobs` child processes load it themselves. */
  file?: string;
  /** Write report.html for the folder (default true). */
  report?: boolean;
  /** Decode workers of every fold run (this machine's; not part of the plan). */
  workers?: number;
  /** `--resume`: refused unless the folder holds a cross-validation (unfinished fold runs always continue). */
  resume?: boolean;
  /** Restart every fold run of this shard, finished ones too. */
  force?: boolean;
  /** Config fields a resuming fold run may change on purpose. */
  allowChanges?: string[];
}

export interface CrossValidationResult {
  dir: string;
  run: AblationRun;
  /** Once every fold has finished (all shards). */
  summary?: CrossValidationSummary;
}

/** The experiment's folds as an ablation of one variant (the experiment itself) and one seed. */
export function crossValidationAblation(experiment: Experiment): Ablation & { name: string } {
  return parseAblation(
    {
      name: crossValidationDirName(experiment.name, experiment.seed),
      description: `${experiment.split.folds}-fold cross-validation of ${experiment.name}`,
      base: { ...experiment, quick: {} },
      variants: { [experiment.name]: {} },
      reference: experiment.name,
      seeds: [experiment.seed],
      folds: experiment.split.folds,
    },
    `cross-validation of '${experiment.name}'`,
  );
}

/** What a child process runs for one fold: the same experiment and flags, `--folds all --trial <fold run>`. */
function foldCommand(file: string, options: CrossValidateOptions): (trial: AblationTrial) => string[] {
  return (trial) => childCommand('run', file, { folds: 'all', trial: trial.name, seed: options.seed, ...trialFlags(options) });
}

/** Runs this machine's folds; once all have finished, writes the folder's pooled results (summarizeCrossValidation). */
export async function runCrossValidation(input: ExperimentInput, options: CrossValidateOptions): Promise<CrossValidationResult> {
  const experiment = resolveExperiment(input, options);
  if (experiment.model.dense) {
    throw new Error(`--folds all: cross-validation pools image-level predictions, and '${experiment.name}' trains a dense model (model.dense) that writes grade maps; run its folds one at a time (--set split.fold=K)`);
  }
  const ablation = crossValidationAblation(experiment);
  if (options.force && options.resume) throw new Error('--resume and --force together: --force restarts the fold runs that --resume would continue; pass one of them');
  const dir = resolve(options.out, ablation.name);
  if (options.resume && !existsSync(ablationPath(dir, 'plan'))) {
    throw new Error(`--resume: ${dir} holds no cross-validation to resume (no ${ABLATION_FILES.plan}); check --out and --seed, or leave out --resume to start it`);
  }
  const run = await runAblation(ablation, {
    ...foldRunOptions(options),
    jobs: options.jobs,
    shard: options.shard,
    ...(options.file ? { childCommand: foldCommand(options.file, options) } : {}),
  });
  if (!run.complete) return { dir: run.dir, run };
  const summary = await summarizeCrossValidation(run.dir);
  if (options.report !== false) {
    try {
      await writeRunReport(run.dir);
    } catch (error) {
      log.warn(`report.html not written: ${(error as Error).message} (\`sliceseq report ${run.dir}\` tries again)`);
    }
  }
  return { dir: run.dir, run, summary };
}

/** One fold in this process (what a `--jobs` child runs). */
export async function runCrossValidationFold(input: ExperimentInput, options: CrossValidateOptions & { trial: string }) {
  const plan = planAblation(crossValidationAblation(resolveExperiment(input, options)));
  const trial = plan.trials.find((t) => t.name === options.trial);
  if (!trial) throw new Error(`--trial: cross-validation '${plan.name}' has no fold run '${options.trial}' (${plan.trials.map((t) => t.name).join(', ')})`);
  return runTrial(plan, trial, foldRunOptions(options));
}

/** How this machine runs each fold: the folder, and the flags that are not part of the plan. */
function foldRunOptions(options: CrossValidateOptions): TrialRunOptions {
  const { out, data, backend, threads, workers, force, allowChanges } = options;
  return { out, data, backend, threads, workers, force, allowChanges };
}

/** The values cv-summary.json keeps per fold and pooled: keys of the metric table. */
const valueKeys: readonly MetricKey[] = [metricKeys.f2Samples, metricKeys.f2TunedSamples, metricKeys.f2Micro, metricKeys.f2Macro, metricKeys.aucMacro, metricKeys.logloss, metricKeys.allPositiveF2Samples, metricKeys.allNegativeF2Samples, metricKeys.f2TunedPositives];

function valuesOf(block: unknown, where: string): Record<string, number | null> {
  return Object.fromEntries(valueKeys.map(({ path }) => [path, metricValue(block, path, where) ?? null]));
}

/** F2 (samples) at the tuned thresholds, the registry's metric as the runs score it, with a percentile bootstrap interval over patients. */
function tunedInterval({ scores, targets }: { scores: ScoreMatrix; targets: LabelMatrix }, table: PredictionTable, thresholds: ThresholdSet, seed: number): BootstrapInterval {
  const quiet = () => {};
  const f2 = createMetric({ name: 'f2', average: 'samples', threshold: thresholds.thresholds, zeroDivision: thresholds.objective.zeroDivision }, { columns: thresholds.classes });
  const score = scoreFunction(f2);
  return bootstrapInterval((p, t) => score(p, t, quiet), scores, targets, { seed, patients: table.rowPatients(), warn: quiet });
}

/** Every score of a split (every label group, through scoreSplit), its row count first, as a run's metrics.json holds them. */
function scoreTable(table: PredictionTable, schema: LabelSchema, thresholds: ThresholdSet, zeroDivision: ZeroDivision): SplitScores {
  const { scores, targets } = table.select(targetColumns(schema)).scoresAndTargets();
  return { rows: table.ids.length, ...scoreSplit(schema, scores, targets, { thresholds, zeroDivision }) };
}

function intervalRecord(interval: BootstrapInterval) {
  const { estimate, lower, upper, confidence, resamples, patients } = interval;
  return { estimate, lower, upper, confidence, resamples, patients };
}

/**
 * Pools a finished cross-validation folder: predictions-oof.csv (all folds' validation rows), thresholds.json
 * (tuned on them), predictions-test.csv (the fold ensemble), metrics.json and cv-summary.json.
 */
export async function summarizeCrossValidation(dir: string): Promise<CrossValidationSummary> {
  const plan = readAblationPlan(dir);
  const foldDirs = plan.trials.map((trial) => join(dir, trial.name));
  const unfinished = foldDirs.filter((foldDir) => !isRunFinished(foldDir));
  if (unfinished.length > 0) throw new Error(`${dir}: ${unfinished.length} fold run(s) have not finished: ${unfinished.join(', ')}`);
  const config = readRunConfig(foldDirs[0]);
  const experiment = parseExperiment(config, runPath(foldDirs[0], 'config'));
  if (!existsSync(runPath(foldDirs[0], 'thresholds'))) {
    throw new Error(`${dir}: cross-validation pools F2 thresholds and needs binary labels; ${foldDirs[0]} has no thresholds.json`);
  }
  const { classes } = readRunThresholds(foldDirs[0]);
  const zeroDivision = experiment.evaluation.zeroDivision;
  const policy = `${describeZeroDivision(zeroDivision)}; samples = mean F2 over rows (Kaggle); thresholds tuned on all out-of-fold predictions`;

  const schema = readRunModelMetadata(foldDirs[0]).labelSchema;
  if (!schema) throw new Error(`${dir}: ${foldDirs[0]} holds a dense model; cross-validation pools image-level predictions`);

  // Each patient is in exactly one fold's validation split: pooled, they are every patient once.
  const validations = await Promise.all(foldDirs.map((foldDir) => readPredictionsFile(predictionsPath(foldDir, 'validation'))));
  const pooled = PredictionTable.concat(validations, "the folds' validation splits overlap");
  const oof = pooled.binary(classes).scoresAndTargets();
  const thresholds = fitThresholds(oof.scores, oof.targets, { source: 'out-of-fold', classes, kind: experiment.evaluation.thresholds, beta: 2, average: 'samples', zeroDivision });
  const oofScores = scoreTable(pooled, schema, thresholds, zeroDivision);
  const oofInterval = intervalRecord(tunedInterval(oof, pooled, thresholds, experiment.seed));

  const withTest = foldDirs.filter((foldDir) => existsSync(predictionsPath(foldDir, 'test')));
  let ensemble: { table: PredictionTable; split: { scores: ScoreMatrix; targets: LabelMatrix }; scores: SplitScores; interval: ReturnType<typeof intervalRecord> } | undefined;
  if (withTest.length > 0) {
    if (withTest.length !== foldDirs.length) throw new Error(`${dir}: only ${withTest.length} of ${foldDirs.length} folds have test predictions`);
    // Every fold predicted the same test rows: the ensemble is their mean, row by row.
    const folds = await Promise.all(foldDirs.map((foldDir) => readPredictionsFile(predictionsPath(foldDir, 'test'))));
    const table = PredictionTable.mean(folds, undefined, `mean of ${folds.length} folds' ${folds[0].source}`);
    const test = table.binary(classes).scoresAndTargets();
    ensemble = {
      table,
      split: test,
      scores: scoreTable(table, schema, thresholds, zeroDivision),
      interval: intervalRecord(tunedInterval(test, table, thresholds, experiment.seed)),
    };
  }

  writePredictions(dir, 'validation', pooled);
  if (ensemble) writePredictions(dir, 'test', ensemble.table);
  writeRunThresholds(dir, thresholds);
  writeRunConfig(dir, config);
  // Beside every F2: both constant baselines, and how many labels the tuned thresholds predict positive.
  const val = { ...oofScores, policy, f2_tuned_interval: oofInterval, ...constantAnswers(oof, thresholds.thresholds, zeroDivision) };
  const test = ensemble ? { ...ensemble.scores, policy: `${policy}; test = mean of the ${foldDirs.length} fold models`, f2_tuned_interval: ensemble.interval, ...constantAnswers(ensemble.split, thresholds.thresholds, zeroDivision) } : undefined;
  writeRunMetrics(dir, { best_epoch: null, stopped: null, val, ...(test ? { test } : {}) });
  const summary: CrossValidationSummary = {
    format: CROSS_VALIDATION_SUMMARY_FORMAT,
    experiment: experiment.name,
    seed: experiment.seed,
    policy,
    classes: [...classes],
    thresholds: [...thresholds.thresholds],
    folds: plan.trials.map((trial, k) => {
      const metrics = readRunMetrics(foldDirs[k]);
      return {
        fold: trial.fold,
        runDir: trial.name,
        val: valuesOf(metrics.val, runPath(foldDirs[k], 'metrics')),
        ...(metrics.test ? { test: valuesOf(metrics.test, runPath(foldDirs[k], 'metrics')) } : {}),
      };
    }),
    outOfFold: { rows: pooled.ids.length, values: valuesOf(val, 'out-of-fold'), f2TunedInterval: oofInterval },
    ...(ensemble && test ? { ensemble: { rows: ensemble.table.ids.length, values: valuesOf(test, 'ensemble'), f2TunedInterval: ensemble.interval, members: foldDirs.length } } : {}),
  };
  writeCrossValidationSummary(dir, summary);
  return summary;
}

/** The lines a researcher reads at the end of a cross-validation. */
export function formatCrossValidation(summary: CrossValidationSummary, dir: string): string {
  const fmt = (value: number | null | undefined) => (typeof value === 'number' ? value.toFixed(4) : 'n/a');
  const interval = (i: CrossValidationSummary['outOfFold']['f2TunedInterval']) => `[${fmt(i.lower)}, ${fmt(i.upper)}] (${Math.round(i.confidence * 100)}%, ${i.patients} patients)`;
  const lines = [`cross-validation: ${dir}`, `policy: ${summary.policy}`];
  const { f2Samples: f2, f2TunedSamples: tuned, aucMacro: auc, allPositiveF2Samples: allPositive, allNegativeF2Samples: allNegative } = metricKeys;
  for (const fold of summary.folds) {
    lines.push(`  fold ${fold.fold}: val F2 ${fmt(fold.val[f2.path])} (tuned ${fmt(fold.val[tuned.path])})${fold.test ? `, test F2 ${fmt(fold.test[f2.path])}` : ''}`);
  }
  const oof = summary.outOfFold;
  lines.push(`out-of-fold (${oof.rows} rows): F2 ${fmt(oof.values[f2.path])}, tuned ${fmt(oof.values[tuned.path])} ${interval(oof.f2TunedInterval)}, ${auc.title} ${fmt(oof.values[auc.path])}`);
  if (summary.ensemble) {
    const e = summary.ensemble;
    lines.push(`test, ensemble of ${e.members} folds (${e.rows} rows): F2 ${fmt(e.values[f2.path])}, tuned ${fmt(e.values[tuned.path])} ${interval(e.f2TunedInterval)}, ${auc.title} ${fmt(e.values[auc.path])}`);
  }
  for (const [name, pooled] of [['out-of-fold', oof], ['test ensemble', summary.ensemble]] as const) {
    if (!pooled) continue;
    const { values } = pooled;
    lines.push(`${name} baselines: ${allPositive.title} ${fmt(values[allPositive.path])}, ${allNegative.title} ${fmt(values[allNegative.path])}`);
    if (values[metricKeys.f2TunedPositives.path] === 0) lines.push(`warning: the tuned thresholds predict no positive label on ${name}: its tuned F2 is the all-negative baseline, not a model result`);
  }
  lines.push(`thresholds (out of fold): ${summary.classes.map((name, j) => `${name} ${summary.thresholds[j].toFixed(3)}`).join(', ')}`);
  return lines.join('\n');
}
