import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { backendPreferences } from '../../backend/select.ts';
import { loadExperimentFile } from '../../experiments/load.ts';
import { runExperiment, type RunResult } from '../../experiments/run.ts';
import { runPath } from '../../runs/layout.ts';

export interface RunCommandOptions {
  data?: string;
  out: string;
  set: string[];
  backend?: (typeof backendPreferences)[number];
  seed?: string;
  quick?: boolean;
  resume?: boolean;
  force?: boolean;
}

function fmt(value: unknown): string {
  return typeof value === 'number' ? value.toFixed(4) : 'n/a';
}

/** The lines a researcher reads at the end of a run. */
export function summarizeRun(result: RunResult): string {
  const { val, test, baseline } = result.metrics;
  const split = test ? 'test' : 'val';
  const block = (test ?? val) as { f2?: Record<string, number>; f2_tuned?: Record<string, number>; auc?: { macro: number | null }; categorical_auc?: number | null; qwk?: number | null; ordinal_accuracy?: number | null };
  const lines = [`run: ${result.runDir}`, `backend: ${result.backend.kind} (${result.backend.device})`];
  if (result.state.stopped) lines.push(`stopped: ${result.state.stopped}`);
  const row = (label: string, f?: Record<string, number>) => f && lines.push(`${label.padEnd(26)} samples ${fmt(f.samples)}  micro ${fmt(f.micro)}  macro ${fmt(f.macro)}`);
  row(`${split} F2 at 0.5`, block.f2);
  row(`${split} F2 tuned thresholds`, block.f2_tuned);
  row('all-positive F2', baseline);
  if (block.auc) lines.push(`${split} AUC macro ${fmt(block.auc.macro)}`);
  if ('categorical_auc' in block) lines.push(`${split} categorical AUC macro ${fmt(block.categorical_auc)} (per group: metrics.json groups)`);
  if ('qwk' in block) lines.push(`${split} ordinal QWK ${fmt(block.qwk)}, exact grade accuracy ${fmt(block.ordinal_accuracy)} (per group: metrics.json groups)`);
  const report = runPath(result.runDir, 'report');
  if (existsSync(report)) lines.push(`report: ${report}`);
  else if (test && block.f2) lines.push(`report: ${runPath(result.runDir, 'classificationReport')}.md`);
  return lines.join('\n');
}

export async function runCommand(file: string, options: RunCommandOptions): Promise<RunResult> {
  const experiment = await loadExperimentFile(file);
  const seed = options.seed === undefined ? undefined : Number(options.seed);
  if (seed !== undefined && !(Number.isInteger(seed) && seed >= 0)) throw new Error(`--seed must be a non-negative integer, got '${options.seed}'`);
  const result = await runExperiment(experiment, {
    out: options.out,
    data: options.data,
    sets: options.set,
    backend: options.backend,
    seed,
    quick: options.quick,
    resume: options.resume,
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
    .option('--seed <n>', 'experiment seed')
    .option('--quick', "apply the experiment's quick overrides (small, fast)")
    .option('--resume', 'continue from the last checkpoint in the run directory')
    .option('--force', 'delete an existing run directory of the same name first')
    .action(async (file: string, options: RunCommandOptions) => {
      await runCommand(file, options);
    });
}
