import type { Command } from 'commander';
import { log } from '../../core/log.ts';
import { wholeNumber } from '../options.ts';

interface CompareFlags {
  out: string;
  resamples: number;
  seed: number;
  title?: string;
}

/** Writes one comparison page of the runs the arguments name; returns its path. */
export async function compareCommand(args: string[], flags: CompareFlags): Promise<string> {
  // Loaded here, not at the top, so that `--help` loads no report code.
  const { resolveRunArguments, writeComparison } = await import('../../report/compare.ts');
  const runs = resolveRunArguments(args);
  const result = await writeComparison(runs, {
    out: flags.out,
    resamples: flags.resamples,
    seed: flags.seed,
    ...(flags.title !== undefined ? { title: flags.title } : {}),
  });
  for (const note of result.notes) log.info(`note: ${note}`);
  return result.html;
}

export function registerCompare(program: Command): void {
  program
    .command('compare')
    .description('one offline HTML page over many runs: overlaid training and validation curves (each run named by its config differences), final metrics with the best marked, paired-bootstrap differences from the first run')
    .argument('<runs...>', 'run directories, folders holding runs (e.g. an ablation), or globs of them ("runs/quickstart-seed*"); the first is the one the others are compared with')
    .option('--out <file>', 'the page to write (figures go to <name>-figures/ beside it)', 'compare.html')
    .option('--resamples <n>', 'bootstrap resamples of the differences from the first run', wholeNumber('--resamples', 1), 1000)
    .option('--seed <n>', 'bootstrap seed', wholeNumber('--seed', 0), 0)
    .option('--title <text>', 'page title')
    .action(async (runs: string[], flags: CompareFlags) => {
      process.stdout.write(`${await compareCommand(runs, flags)}\n`);
    });
}
