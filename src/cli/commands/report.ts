import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { log } from '../../core/log.ts';
import { writeAblationReport } from '../../report/ablation-report.ts';
import { writeRunReport } from '../../report/run-report.ts';
import { watchRunReport } from '../../report/watch.ts';
import { ablationPath } from '../../runs/layout.ts';

interface ReportFlags {
  data?: string;
  slices: boolean;
  patient?: string;
  stripSlices?: string;
  watch?: boolean;
  interval?: string;
}

function positiveInteger(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${flag} must be a positive integer, got '${text}'`);
  return value;
}

/** Writes the report of a run directory, or of an ablation directory (one holding ablation-summary.json). */
export async function reportCommand(dir: string, flags: ReportFlags): Promise<string> {
  if (existsSync(ablationPath(dir, 'summaryJson'))) {
    if (flags.watch) throw new Error('--watch follows one run directory, not an ablation');
    return (await writeAblationReport(dir)).html;
  }
  const stripSlices = positiveInteger(flags.stripSlices, '--strip-slices');
  const options = {
    slices: flags.slices,
    ...(flags.data !== undefined ? { data: flags.data } : {}),
    ...(flags.patient !== undefined ? { patient: flags.patient } : {}),
    ...(stripSlices !== undefined ? { stripSlices } : {}),
  };
  if (flags.watch) return watchCommand(dir, options, positiveInteger(flags.interval, '--interval') ?? 2);
  const result = await writeRunReport(dir, options);
  for (const note of result.notes) log.info(`note: ${note}`);
  return result.html;
}

/** Rewrites the run's report after each epoch until the run finishes (or Ctrl-C). */
async function watchCommand(dir: string, options: Parameters<typeof writeRunReport>[1], seconds: number): Promise<string> {
  const stop = new AbortController();
  const onSigint = () => stop.abort();
  process.once('SIGINT', onSigint);
  try {
    const result = await watchRunReport(dir, { ...options, intervalMs: seconds * 1000, signal: stop.signal });
    return result?.html ?? `${dir}: no report written (the run has no finished epoch yet)`;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('(re)write report.html and figures/ (SVG + PNG) of a run directory, or of an ablation directory holding ablation-summary.json')
    .argument('<dir>', 'run directory (config.json, history.jsonl, metrics.json, predictions …) or ablation directory')
    .option('--data <dir>', "the dataset's root, when it has moved since the run (for the strip of preprocessed slices)")
    .option('--no-slices', 'leave out the strip of preprocessed slices (does not read the dataset)')
    .option('--patient <id>', 'the patient the slice strip shows (default: the first validation patient with a positive label)')
    .option('--strip-slices <n>', 'how many slices the strip shows, evenly spaced (default 6)')
    .option('--watch', 'a run in progress: rewrite report.html after each epoch until the run finishes (refresh the browser to follow it)')
    .option('--interval <seconds>', 'with --watch: how often to look for a finished epoch (default 2)')
    .action(async (dir: string, flags: ReportFlags) => {
      process.stdout.write(`${await reportCommand(dir, flags)}\n`);
    });
}
