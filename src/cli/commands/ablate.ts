import { Option, type Command } from 'commander';
import { INTERRUPTED_EXIT } from '../../core/interrupt.ts';
import { log } from '../../core/log.ts';
import { ablationPath } from '../../runs/layout.ts';
import { addSharedOptions, wholeNumber, type SharedOptions } from '../options.ts';
import type { AblationRun } from '../../experiments/ablate.ts';

interface AblateFlags extends SharedOptions {
  seeds?: number;
  folds?: number;
  jobs: number;
  shard?: string;
  out: string;
  quick?: boolean;
  data?: string;
  summarize?: string;
  trial?: string;
}

async function summarize(dir: string): Promise<void> {
  const { formatAblationSummary, writeAblationSummary } = await import('../../experiments/summarize.ts');
  const { writeAblationReport } = await import('../../report/ablation-report.ts');
  const summary = await writeAblationSummary(dir);
  process.stdout.write(formatAblationSummary(summary));
  const report = await writeAblationReport(dir);
  log.info(`wrote ${ablationPath(dir, 'summaryJson')}, ${ablationPath(dir, 'summaryMarkdown')} and ${report.html}`);
}

function report(run: AblationRun): void {
  const count = (status: string) => run.outcomes.filter((o) => o.status === status).length;
  log.info(
    `ablation ${run.plan.name}: ${count('finished')} finished, ${count('skipped')} already done, ${count('failed')} failed` +
      `${count('interrupted') + count('not-started') > 0 ? `, ${count('interrupted')} interrupted, ${count('not-started')} not started` : ''}`,
  );
}

async function ablate(file: string | undefined, flags: AblateFlags): Promise<void> {
  if (flags.summarize !== undefined) {
    if (file !== undefined || flags.shard !== undefined || flags.trial !== undefined) throw new Error('--summarize DIR takes no ablation file, --shard or --trial');
    await summarize(flags.summarize);
    return;
  }
  if (file === undefined) throw new Error('give an ablation file (e.g. experiments/ablation-lstm-vs-gru.ts), or --summarize DIR');
  const { formatShard, parseShard, planAblation, shardFromEnv } = await import('../../experiments/ablation.ts');
  const { loadAblationFile, runAblation, runTrial } = await import('../../experiments/ablate.ts');
  const ablation = await loadAblationFile(file);
  const sizes = { seeds: flags.seeds, folds: flags.folds, quick: flags.quick, sets: flags.set };
  const common = { out: flags.out, data: flags.data, backend: flags.backend, threads: flags.threads, workers: flags.workers, force: flags.force, allowChanges: flags.allowChanges };

  if (flags.trial !== undefined) {
    // A child process of `--jobs`: one trial of the same plan.
    const plan = planAblation(ablation, sizes);
    const trial = plan.trials.find((t) => t.name === flags.trial);
    if (!trial) throw new Error(`--trial: ablation '${plan.name}' has no trial '${flags.trial}'`);
    const outcome = await runTrial(plan, trial, common);
    if (outcome.status === 'failed') throw new Error(`trial ${trial.name} failed: ${outcome.error}`);
    if (outcome.status === 'interrupted') process.exitCode = INTERRUPTED_EXIT;
    return;
  }

  const shard = flags.shard !== undefined ? parseShard(flags.shard) : shardFromEnv();
  if (shard && flags.shard === undefined) log.info(`shard ${formatShard(shard)} from SLURM_ARRAY_TASK_ID`);
  const run = await runAblation(ablation, { ...common, ...sizes, jobs: flags.jobs, shard, file });
  report(run);
  if (!shard || run.complete) await summarize(run.dir);
  else log.info(`shard ${formatShard(shard)} done; once every shard has finished: sliceseq ablate --summarize ${run.dir}`);
  const failed = run.outcomes.filter((o) => o.status === 'failed');
  if (failed.length > 0) throw new Error(`${failed.length} trial(s) failed: ${failed.map((o) => o.trial.name).join(', ')} (their trial.log / the messages above say why)`);
  if (run.outcomes.some((o) => o.status === 'interrupted')) {
    process.exitCode = INTERRUPTED_EXIT;
    process.stderr.write(`interrupted; continue with the same command (finished trials are skipped, unfinished ones resume)\n`);
  }
}

export function registerAblate(program: Command): void {
  const command = program
    .command('ablate')
    .description('run an ablation file: every variant × seed (× fold), in parallel or sharded over machines, then a paired comparison with the reference')
    .argument('[ablation]', 'ablation file, e.g. experiments/ablation-lstm-vs-gru.ts')
    .option('--seeds <n>', "seeds 0 … n-1 (default: the file's seeds)", wholeNumber('--seeds', 1))
    .option('--folds <k>', "1: the base split's fold; k >= 2: every fold of a k-fold split (default: the file's folds)", wholeNumber('--folds', 1))
    .option('--jobs <j>', 'trials at once, each in its own process', wholeNumber('--jobs', 1), 1)
    .option('--shard <i/n>', 'run only the i-th of n parts of the grid (1-based; default: from SLURM_ARRAY_TASK_ID/COUNT when set)')
    .option('--out <dir>', 'parent folder; trials go to <out>/<ablation name>/<variant>-seed<s>-fold<f>/', 'runs')
    .option('--quick', "the ablation's and the base experiment's quick size")
    .option('--data <dir>', 'dataset folder (overrides data.dataset.root in every trial)');
  addSharedOptions(command, {
    backend: { help: 'backend of every trial' },
    threads: {},
    workers: {},
    set: { help: 'override a field of the base experiment in every variant, e.g. --set train.epochs=3 (repeatable; part of the plan)' },
    seed: { refuse: 'an ablation runs seeds 0 … n-1 (--seeds n) or the seeds its file lists' },
    resume: { refuse: 'an ablation always continues: finished trials are skipped and unfinished ones resume from their last checkpoint' },
    force: { help: 'restart every trial of this shard, finished ones too' },
    allowChanges: { help: 'config fields a resuming trial may change on purpose (the data folder always may)' },
  });
  command
    .option('--summarize <dir>', 'merge the finished trials of an ablation folder (<out>/<name>) into ablation-summary.json/.md')
    .addOption(new Option('--trial <name>', 'run one trial of the grid (what --jobs child processes run)').hideHelp())
    .action(ablate);
}
