import { existsSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { parseThreads } from '../options.ts';
import { backendPreferences } from '../../backend/select.ts';
import { loadExperimentFile } from '../../experiments/load.ts';
import { runExperiment, type RunResult } from '../../experiments/run.ts';
import { formatCrossValidation, runCrossValidation, runCrossValidationFold } from '../../experiments/cross-validate.ts';
import { INTERRUPTED_EXIT } from '../../experiments/ablate.ts';
import { parseShard, shardFromEnv } from '../../experiments/ablation.ts';
import { runPath } from '../../runs/layout.ts';
import { f2Key, metricKeys, scoreAt } from '../../metrics/scores.ts';

export interface RunCommandOptions {
  data?: string;
  out: string;
  set: string[];
  backend?: (typeof backendPreferences)[number];
  threads?: number;
  seed?: string;
  workers?: string;
  quick?: boolean;
  resume?: boolean;
  allowChanges?: string[];
  force?: boolean;
  /** `all`: cross-validation, every fold of the experiment's split. */
  folds?: string;
  jobs?: string;
  shard?: string;
  trial?: string;
}

function fmt(value: unknown): string {
  return typeof value === 'number' ? value.toFixed(4) : 'n/a';
}

/** The lines a researcher reads at the end of a run. */
export function summarizeRun(result: RunResult): string {
  const { val, test, baseline } = result.metrics;
  const split = test ? 'test' : 'val';
  const block = test ?? val;
  const lines = [`run: ${result.runDir}`, `backend: ${result.backend.kind} (${result.backend.device})`];
  if (result.state.stopped) lines.push(`stopped: ${result.state.stopped}`);
  const averages = ['samples', 'micro', 'macro'] as const;
  const row = (label: string, scores: unknown, tuned = false) =>
    scoreAt(scores, f2Key('samples', tuned)) !== undefined &&
    lines.push(`${label.padEnd(26)} ${averages.map((average) => `${average} ${fmt(scoreAt(scores, f2Key(average, tuned)))}`).join('  ')}`);
  row(`${split} F2 at 0.5`, block);
  row(`${split} F2 tuned thresholds`, block, true);
  row('all-positive F2', baseline);
  const { aucMacro, categoricalAuc, qwk, ordinalAccuracy } = metricKeys;
  if (scoreAt(block, aucMacro) !== undefined) lines.push(`${split} ${aucMacro.title} ${fmt(scoreAt(block, aucMacro))}`);
  if (block.f2 && typeof block.policy === 'string') lines.push(`F2 policy: ${block.policy}`);
  if (scoreAt(block, categoricalAuc) !== undefined) lines.push(`${split} categorical AUC macro ${fmt(scoreAt(block, categoricalAuc))} (per group: metrics.json groups)`);
  if (scoreAt(block, qwk) !== undefined) lines.push(`${split} ordinal QWK ${fmt(scoreAt(block, qwk))}, exact grade accuracy ${fmt(scoreAt(block, ordinalAccuracy))} (per group: metrics.json groups)`);
  const report = runPath(result.runDir, 'report');
  if (existsSync(report)) lines.push(`report: ${report}`);
  else if (test && block.f2) lines.push(`report: ${runPath(result.runDir, 'classificationReport')}.md`);
  return lines.join('\n');
}

/** Trains one run, or with `--folds all` a cross-validation (then nothing is returned: its summary is printed). */
export async function runCommand(file: string, options: RunCommandOptions): Promise<RunResult | undefined> {
  const experiment = await loadExperimentFile(file);
  const seed = options.seed === undefined ? undefined : Number(options.seed);
  if (seed !== undefined && !(Number.isInteger(seed) && seed >= 0)) throw new Error(`--seed must be a non-negative integer, got '${options.seed}'`);
  const workers = options.workers === undefined ? undefined : Number(options.workers);
  if (workers !== undefined && !(Number.isInteger(workers) && workers >= 0)) throw new Error(`--workers must be a non-negative integer, got '${options.workers}'`);
  if (options.folds !== undefined && options.folds !== 'all') throw new Error(`--folds takes 'all' (every fold of split.folds; set their number with --set split.folds=K), got '${options.folds}'`);
  const crossValidation = options.folds === 'all';
  if (!crossValidation && (options.jobs !== undefined || options.shard !== undefined || options.trial !== undefined)) throw new Error('--jobs, --shard and --trial go with --folds all');
  if (crossValidation) {
    const common = { out: options.out, data: options.data, sets: options.set, backend: options.backend, seed, quick: options.quick, file };
    if (options.trial !== undefined) {
      const outcome = await runCrossValidationFold(experiment, { ...common, trial: options.trial });
      if (outcome.status === 'failed') throw new Error(`fold run ${outcome.trial.name} failed: ${outcome.error}`);
      if (outcome.status === 'interrupted') process.exitCode = INTERRUPTED_EXIT;
      return undefined;
    }
    const jobs = options.jobs === undefined ? 1 : Number(options.jobs);
    if (!(Number.isInteger(jobs) && jobs >= 1)) throw new Error(`--jobs must be a positive integer, got '${options.jobs}'`);
    const shard = options.shard !== undefined ? parseShard(options.shard) : shardFromEnv();
    const result = await runCrossValidation(experiment, { ...common, jobs, shard });
    const failed = result.run.outcomes.filter((o) => o.status === 'failed');
    if (result.summary) process.stdout.write(`${formatCrossValidation(result.summary, result.dir)}\n`);
    else if (failed.length === 0) process.stdout.write(`cross-validation ${result.dir}: this shard's folds are done; run the same command once every shard has finished to pool them\n`);
    if (failed.length > 0) throw new Error(`${failed.length} fold run(s) failed: ${failed.map((o) => `${o.trial.name}: ${o.error}`).join('; ')}`);
    if (result.run.outcomes.some((o) => o.status === 'interrupted')) process.exitCode = INTERRUPTED_EXIT;
    return undefined;
  }
  const result = await runExperiment(experiment, {
    out: options.out,
    data: options.data,
    sets: workers === undefined ? options.set : [...options.set, `data.workers=${workers}`],
    backend: options.backend,
    threads: options.threads,
    seed,
    quick: options.quick,
    resume: options.resume,
    allowChanges: options.allowChanges,
    force: options.force,
  });
  process.stdout.write(`${summarizeRun(result)}\n`);
  return result;
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('train and evaluate one experiment file; writes a run directory')
    .argument('<experiment>', 'experiment file, e.g. experiments/quickstart.ts')
    .option('--data <dir>', "dataset folder (overrides data.dataset.root)")
    .option('--out <dir>', 'parent folder of run directories', 'runs')
    .option('--set <key=value>', 'override a config field, e.g. --set train.epochs=3 (repeatable)', (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--backend <name>', `backend: ${backendPreferences.join('|')}`)
    .option('--threads <n>', "TensorFlow's intra-op threads on a native backend (default: one per core)", (value: string) => parseThreads(value, '--threads'))
    .option('--seed <n>', 'experiment seed')
    .option('--workers <n>', 'decode/preprocess worker threads (data.workers; default cores − 1, 0: main thread)')
    .option('--quick', "apply the experiment's quick overrides (small, fast)")
    .option('--resume', 'continue from the last checkpoint in the run directory (the config and data must be the ones it started with)')
    .option('--allow-changes <field...>', 'with --resume: config fields or sections that may differ on purpose, e.g. train.epochs (recorded in environment.json)')
    .option('--force', 'delete an existing run directory of the same name first')
    .option('--folds <all>', 'cross-validation: train every fold, tune thresholds on all out-of-fold predictions, average the fold models on the test split (<out>/<name>-seed<s>-cv/)')
    .option('--jobs <j>', 'with --folds all: folds at once, each in its own process', undefined)
    .option('--shard <i/n>', 'with --folds all: run only the i-th of n parts of the folds (default: from SLURM_ARRAY_TASK_ID/COUNT when set)')
    .addOption(new Option('--trial <name>', 'with --folds all: run one fold run (what --jobs child processes run)').hideHelp())
    .action(async (file: string, options: RunCommandOptions) => {
      await runCommand(file, options);
    });
}
