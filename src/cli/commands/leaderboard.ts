import { Option, type Command } from 'commander';
import { DEFAULT_LEADERBOARD_METRIC, buildLeaderboard, formatLeaderboard } from '../../report/leaderboard.ts';
import { metricKeys } from '../../metrics/scores.ts';
import { findRuns } from '../../runs/run-dir.ts';

interface LeaderboardFlags {
  metric: string;
  order?: 'higher' | 'lower';
  ignore: string[];
  json?: boolean;
}

export function registerLeaderboard(program: Command): void {
  program
    .command('leaderboard')
    .description('rank the runs under a directory by a metric, mean ± std over seeds, with the config fields that differ')
    .argument('<runs-dir>', 'directory searched recursively for run dirs holding config.json and metrics.json')
    .option('--metric <path>', `dot path into metrics.json, e.g. ${DEFAULT_LEADERBOARD_METRIC} or val.${metricKeys.aucMacro.path}`, DEFAULT_LEADERBOARD_METRIC)
    .addOption(new Option('--order <better>', 'which values rank first (default: the metric\'s own direction; lower for losses and errors)').choices(['higher', 'lower']))
    .option('--ignore <field>', 'config field (dot path) to ignore when grouping runs, besides seed; repeatable', (value: string, all: string[]) => [...all, value], [])
    .option('--json', 'print JSON')
    .action((runsDir: string, flags: LeaderboardFlags) => {
      const runs = findRuns(runsDir);
      if (runs.length === 0) throw new Error(`no runs under '${runsDir}' (directories holding both config.json and metrics.json)`);
      const board = buildLeaderboard(runs, { metric: flags.metric, order: flags.order, ignore: flags.ignore });
      process.stdout.write(`${flags.json ? JSON.stringify(board, null, 2) : formatLeaderboard(board)}\n`);
    });
}
