import type { Command } from 'commander';
import { registerEnv } from './env.ts';
import { registerDemoData } from './demo-data.ts';
import { registerInspect } from './inspect.ts';
import { registerScore } from './score.ts';
import { registerLeaderboard } from './leaderboard.ts';
import { registerCheckGradients } from './check-gradients.ts';
import { registerRun } from './run.ts';
import { registerQuickstart } from './quickstart.ts';
import { registerAblate } from './ablate.ts';
import { registerExtract } from './extract.ts';
import { registerReport } from './report.ts';
import { registerCompare } from './compare.ts';
import { registerWeights } from './weights.ts';
import { registerPredict } from './predict.ts';
import { registerList } from './list.ts';

/** Every CLI command registers itself on the program; one line each. */
export const commands: Array<(program: Command) => void> = [
  registerEnv,
  registerDemoData,
  registerInspect,
  registerScore,
  registerLeaderboard,
  registerCheckGradients,
  registerRun,
  registerQuickstart,
  registerAblate,
  registerExtract,
  registerReport,
  registerCompare,
  registerWeights,
  registerPredict,
  registerList,
];
