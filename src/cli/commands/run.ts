import { Option, type Command } from 'commander';
import { addSharedOptions, experimentSets, wholeNumber, type SharedOptions } from '../options.ts';
import { INTERRUPTED_EXIT } from '../../core/interrupt.ts';
import type { RunResult } from '../../experiments/run.ts';

export interface RunCommandOptions extends Partial<Omit<SharedOptions, 'force'>> {
  /** `own-runs`: replace only a run the same command started (the quickstart's policy). */
  force?: boolean | 'own-runs';
  data?: string;
  out: string;
  quick?: boolean;
  /** `all`: cross-validation, every fold of the experiment's split. */
  folds?: string;
  jobs?: number;
  shard?: string;
  trial?: string;
  /** Who starts the run (recorded in environment.json; `quickstart` replaces only its own runs). */
  command?: string;
}

/** Trains one run, or with `--folds all` a cross-validation (then nothing is returned: its summary is printed). */
export async function runCommand(file: string, options: RunCommandOptions): Promise<RunResult | undefined> {
  const set = options.set ?? [];
  if (options.folds !== undefined && options.folds !== 'all') throw new Error(`--folds takes 'all' (every fold of split.folds; set their number with --set split.folds=K), got '${options.folds}'`);
  const crossValidation = options.folds === 'all';
  if (!crossValidation && (options.jobs !== undefined || options.shard !== undefined || options.trial !== undefined)) throw new Error('--jobs, --shard and --trial go with --folds all');
  const { loadExperimentFile } = await import('../../experiments/load.ts');
  const experiment = await loadExperimentFile(file);
  if (crossValidation) {
    const { formatCrossValidation, runCrossValidation, runCrossValidationFold } = await import('../../experiments/cross-validate.ts');
    const { parseShard, shardFromEnv } = await import('../../experiments/ablation.ts');
    if (options.resumeOrStart && options.resume) throw new Error('--resume and --resume-or-start: pass one');
    // Every flag travels to each fold run (and to --jobs child processes): where and how they run, and the plan's --set/--seed.
    const common = {
      out: options.out, data: options.data, sets: set, seed: options.seed, quick: options.quick, file,
      backend: options.backend, threads: options.threads, workers: options.workers, force: options.force === true, allowChanges: options.allowChanges,
    };
    if (options.trial !== undefined) {
      const outcome = await runCrossValidationFold(experiment, { ...common, trial: options.trial });
      if (outcome.status === 'failed') throw new Error(`fold run ${outcome.trial.name} failed: ${outcome.error}`);
      if (outcome.status === 'interrupted') process.exitCode = INTERRUPTED_EXIT;
      return undefined;
    }
    const shard = options.shard !== undefined ? parseShard(options.shard) : shardFromEnv();
    const result = await runCrossValidation(experiment, { ...common, resume: options.resume, jobs: options.jobs ?? 1, shard });
    const failed = result.run.outcomes.filter((o) => o.status === 'failed');
    if (result.summary) process.stdout.write(`${formatCrossValidation(result.summary, result.dir)}\n`);
    else if (failed.length === 0) process.stdout.write(`cross-validation ${result.dir}: this shard's folds are done; run the same command once every shard has finished to pool them\n`);
    if (failed.length > 0) throw new Error(`${failed.length} fold run(s) failed: ${failed.map((o) => `${o.trial.name}: ${o.error}`).join('; ')}`);
    if (result.run.outcomes.some((o) => o.status === 'interrupted')) {
      process.exitCode = INTERRUPTED_EXIT;
      process.stderr.write('interrupted; continue with the same command (finished fold runs are kept, unfinished ones resume)\n');
    }
    return undefined;
  }
  const { runExperiment } = await import('../../experiments/run.ts');
  const result = await runExperiment(experiment, {
    out: options.out,
    data: options.data,
    sets: experimentSets({ set, workers: options.workers }),
    backend: options.backend,
    threads: options.threads,
    seed: options.seed,
    quick: options.quick,
    resume: options.resume,
    resumeOrStart: options.resumeOrStart,
    allowChanges: options.allowChanges,
    force: options.force,
    command: options.command,
  });
  if (result.state.stopped === 'interrupted') {
    process.exitCode = INTERRUPTED_EXIT;
    process.stderr.write(`interrupted; continue with: ${resumeCommand(file, options)}\n`);
    return result;
  }
  const { summarizeRun } = await import('../run-summary.ts');
  process.stdout.write(`${summarizeRun(result)}\n`);
  return result;
}

/** The command that continues an interrupted run: the same flags, `--resume` instead of `--force`. */
export function resumeCommand(file: string, options: RunCommandOptions): string {
  const quote = (text: string) => (/^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`);
  const parts = ['sliceseq', options.command === 'quickstart' ? 'quickstart' : `run ${quote(file)}`];
  if (options.command !== 'quickstart' || options.out !== 'runs') parts.push('--out', quote(options.out));
  if (options.data !== undefined) parts.push('--data', quote(options.data));
  if (options.quick) parts.push('--quick');
  if (options.seed !== undefined) parts.push('--seed', String(options.seed));
  for (const assignment of options.set ?? []) parts.push('--set', quote(assignment));
  if (options.backend !== undefined) parts.push('--backend', options.backend);
  if (options.threads !== undefined) parts.push('--threads', String(options.threads));
  if (options.workers !== undefined) parts.push('--workers', String(options.workers));
  parts.push('--resume');
  return parts.join(' ');
}

export function registerRun(program: Command): void {
  const command = program
    .command('run')
    .description('train and evaluate one experiment file; writes a run directory')
    .argument('<experiment>', 'experiment file, e.g. experiments/quickstart.ts')
    .option('--data <dir>', 'dataset folder (overrides data.dataset.root)')
    .option('--out <dir>', 'parent folder of run directories', 'runs')
    .option('--quick', "apply the experiment's quick overrides (small, fast)");
  addSharedOptions(command, {
    backend: {}, threads: {}, workers: {}, set: {}, seed: {},
    resume: { help: 'continue the run from its last checkpoint (refused when there is none; the config and data must be the ones it started with)' },
    force: { help: 'delete the run already in the run directory first (with --folds all: restart every fold run)' },
    allowChanges: {},
  });
  command
    .option('--folds <all>', 'cross-validation: train every fold, tune thresholds on all out-of-fold predictions, average the fold models on the test split (<out>/<name>-seed<s>-cv/)')
    .option('--jobs <j>', 'with --folds all: folds at once, each in its own process', wholeNumber('--jobs', 1))
    .option('--shard <i/n>', 'with --folds all: run only the i-th of n parts of the folds (default: from SLURM_ARRAY_TASK_ID/COUNT when set)')
    .addOption(new Option('--trial <name>', 'with --folds all: run one fold run (what --jobs child processes run)').hideHelp())
    .action(async (file: string, options: RunCommandOptions) => {
      await runCommand(file, options);
    });
}
