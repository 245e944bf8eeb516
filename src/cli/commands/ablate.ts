import { Option, type Command } from 'commander';
import { backendPreferences, type BackendPreference } from '../../backend/select.ts';
import { log } from '../../core/log.ts';
import { formatShard, parseShard, planAblation, shardFromEnv } from '../../experiments/ablation.ts';
import { INTERRUPTED_EXIT, loadAblationFile, runAblation, runTrial, type AblationRun } from '../../experiments/ablate.ts';
import { writeAblationReport } from '../../report/ablation-report.ts';
import { formatAblationSummary, writeAblationSummary } from '../../experiments/summarize.ts';
import { ablationPath } from '../../runs/layout.ts';

interface AblateFlags {
  seeds?: string;
  folds?: string;
  jobs: string;
  shard?: string;
  out: string;
  quick?: boolean;
  data?: string;
  backend?: BackendPreference;
  summarize?: string;
  trial?: string;
}

function positiveInteger(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!(Number.isInteger(value) && value >= 1)) throw new Error(`${flag} must be a positive integer, got '${text}'`);
  return value;
}

async function summarize(dir: string): Promise<void> {
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
  const ablation = await loadAblationFile(file);
  const sizes = { seeds: positiveInteger(flags.seeds, '--seeds'), folds: positiveInteger(flags.folds, '--folds'), quick: flags.quick };
  const common = { out: flags.out, data: flags.data, backend: flags.backend };

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
  const run = await runAblation(ablation, { ...common, ...sizes, jobs: positiveInteger(flags.jobs, '--jobs'), shard, file });
  report(run);
  if (!shard || run.complete) await summarize(run.dir);
  else log.info(`shard ${formatShard(shard)} done; once every shard has finished: sliceseq ablate --summarize ${run.dir}`);
  const failed = run.outcomes.filter((o) => o.status === 'failed');
  if (failed.length > 0) throw new Error(`${failed.length} trial(s) failed: ${failed.map((o) => o.trial.name).join(', ')} (their trial.log / the messages above say why)`);
  if (run.outcomes.some((o) => o.status === 'interrupted')) process.exitCode = INTERRUPTED_EXIT;
}

export function registerAblate(program: Command): void {
  program
    .command('ablate')
    .description('run an ablation file: every variant × seed (× fold), in parallel or sharded over machines, then a paired comparison with the reference')
    .argument('[ablation]', 'ablation file, e.g. experiments/ablation-lstm-vs-gru.ts')
    .option('--seeds <n>', "seeds 0 … n-1 (default: the file's seeds)")
    .option('--folds <k>', "1: the base split's fold; k >= 2: every fold of a k-fold split (default: the file's folds)")
    .option('--jobs <j>', 'trials at once, each in its own process', '1')
    .option('--shard <i/n>', 'run only the i-th of n parts of the grid (1-based; default: from SLURM_ARRAY_TASK_ID/COUNT when set)')
    .option('--out <dir>', 'parent folder; trials go to <out>/<ablation name>/<variant>-seed<s>-fold<f>/', 'runs')
    .option('--quick', "the ablation's and the base experiment's quick size")
    .option('--data <dir>', 'dataset folder (overrides data.dataset.root in every trial)')
    .addOption(new Option('--backend <name>', 'backend for every trial').choices([...backendPreferences]))
    .option('--summarize <dir>', 'merge the finished trials of an ablation folder (<out>/<name>) into ablation-summary.json/.md')
    .addOption(new Option('--trial <name>', 'run one trial of the grid (what --jobs child processes run)').hideHelp())
    .action(ablate);
}
