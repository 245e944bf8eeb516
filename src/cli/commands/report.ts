import type { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { Interrupt } from '../../core/interrupt.ts';
import { log } from '../../core/log.ts';
import { ablationPath, runPath } from '../../runs/layout.ts';
import { wholeNumber } from '../options.ts';

interface ReportFlags {
  data?: string;
  slices: boolean;
  patient?: string;
  stripSlices?: number;
  watch?: boolean;
  interval?: number;
}

/** Writes the report of a run directory, or of an ablation directory (one holding ablation-summary.json). */
export async function reportCommand(dir: string, flags: ReportFlags): Promise<string> {
  const options = {
    slices: flags.slices,
    ...(flags.data !== undefined ? { data: flags.data } : {}),
    ...(flags.patient !== undefined ? { patient: flags.patient } : {}),
    ...(flags.stripSlices !== undefined ? { stripSlices: flags.stripSlices } : {}),
  };
  // A run in progress may not have its folder yet (a run writes nothing before its first epoch): --watch waits.
  if (flags.watch) {
    if (existsSync(ablationPath(dir, 'summaryJson')) || existsSync(ablationPath(dir, 'plan'))) throw new Error('--watch follows one run directory, not an ablation');
    return watchCommand(dir, options, flags.interval ?? 2);
  }
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`${dir}: no such directory`);
  if (existsSync(ablationPath(dir, 'summaryJson'))) {
    const { writeAblationReport } = await import('../../report/ablation-report.ts');
    return (await writeAblationReport(dir)).html;
  }
  // A report is written into a run (or cross-validation) folder only: never into a dataset or any other folder.
  if (!existsSync(runPath(dir, 'config'))) {
    const hint = existsSync(ablationPath(dir, 'plan')) ? `; an ablation folder gets its report once summarized: sliceseq ablate --summarize ${dir}` : '';
    throw new Error(`${dir} is not a run directory (it has no ${runPath('', 'config')}); nothing written${hint}`);
  }
  const { writeRunReport } = await import('../../report/run-report.ts');
  const result = await writeRunReport(dir, options);
  for (const note of result.notes) log.info(`note: ${note}`);
  return result.html;
}

/** Rewrites the run's report after each epoch until the run finishes (or Ctrl-C). */
async function watchCommand(dir: string, options: { slices: boolean; data?: string; patient?: string; stripSlices?: number }, seconds: number): Promise<string> {
  const { watchRunReport } = await import('../../report/watch.ts');
  const interrupt = new Interrupt({ first: 'Ctrl-C: the watch stops (the report written last stays; Ctrl-C again to exit at once)' });
  const stopListening = interrupt.listen();
  try {
    const result = await watchRunReport(dir, { ...options, intervalMs: seconds * 1000, signal: interrupt.signal });
    return result?.html ?? `${dir}: no report written (the run has no finished epoch yet)`;
  } finally {
    stopListening();
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
    .option('--strip-slices <n>', 'how many slices the strip shows, evenly spaced (default 6)', wholeNumber('--strip-slices', 1))
    .option('--watch', 'a run in progress: rewrite report.html after each epoch until the run finishes (refresh the browser to follow it)')
    .option('--interval <seconds>', 'with --watch: how often to look for a finished epoch (default 2)', wholeNumber('--interval', 1))
    .action(async (dir: string, flags: ReportFlags) => {
      process.stdout.write(`${await reportCommand(dir, flags)}\n`);
    });
}
