import { Option, type Command } from 'commander';
import { readCsv } from '../../data/datasets/csv.ts';
import { scoreSubmission } from '../../metrics/submission/score.ts';
import { DEFAULT_ZERO_DIVISION } from '../../metrics/policy.ts';

interface ScoreFlags {
  solution?: string;
  metric: 'f2' | 'auc' | 'logloss' | 'wlogloss';
  average?: 'samples' | 'micro' | 'macro';
  threshold?: string;
  zeroDivision: string;
  classes?: string;
}

function parseThreshold(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) throw new Error(`--threshold must be a number, got '${text}'`);
  return value;
}

export function registerScore(program: Command): void {
  program
    .command('score')
    .description(
      'score a Kaggle submission (long ID,Label; wide id,class…; tags Id,Predicted) or a sliceseq predictions file against a solution; ' +
        'prints {"public","private","all","policy"} JSON',
    )
    .argument('<submission>', 'submission CSV, or a predictions CSV written by a run or `sliceseq predict`')
    .option('--solution <file>', 'solution CSV (same formats; an optional Usage column splits Public / Private); default for a predictions file: its own true_<class> columns')
    .addOption(new Option('--metric <name>', 'metric').choices(['f2', 'auc', 'logloss', 'wlogloss']).default('f2'))
    .addOption(new Option('--average <kind>', 'average (f2: samples by default; auc: macro by default)').choices(['samples', 'micro', 'macro']))
    .option('--threshold <t>', 'f2: probability at or above which a class is predicted (default 0.5)')
    .addOption(
      new Option('--zero-division <policy>', 'f2 for a row with no true and no predicted labels (the default everywhere in sliceseq; see docs/leaderboard.md)')
        .choices(['warn', '0', '1'])
        .default(String(DEFAULT_ZERO_DIVISION)),
    )
    .option('--classes <names>', 'comma-separated class names, where long-format ID_<id>_<class> keys are ambiguous')
    .action(async (submissionFile: string, flags: ScoreFlags) => {
      const [submission, solution] = await Promise.all([readCsv(submissionFile), flags.solution === undefined ? undefined : readCsv(flags.solution)]);
      const zeroDivision = flags.zeroDivision === 'warn' ? 'warn' : flags.zeroDivision === '1' ? 1 : 0;
      const score = scoreSubmission(submission, solution, {
        metric: flags.metric,
        average: flags.average,
        threshold: parseThreshold(flags.threshold),
        zeroDivision,
        classes: flags.classes?.split(',').map((name) => name.trim()),
      });
      process.stdout.write(`${JSON.stringify(score)}\n`);
    });
}
