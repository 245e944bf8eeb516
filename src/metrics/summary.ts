import { averagePrecisionScore } from './average-precision.ts';
import { fbetaScore, type FbetaAverage } from './fbeta.ts';
import { logLoss } from './log-loss.ts';
import type { LabelMatrix, ScoreMatrix, Warn } from './matrix.ts';
import { warnToLog, type ZeroDivision } from './policy.ts';
import { rocAucPerClass, rocAucScore } from './roc-auc.ts';
import type { ThresholdSet } from './thresholds.ts';

/**
 * The headline numbers of one split, in the shape a run's `metrics.json` holds under `val` and `test` (and the
 * leaderboard reads): F2 at 0.5 and, with tuned thresholds, beside it; ROC-AUC; average precision; log loss.
 */
export type F2Summary = Record<FbetaAverage, number>;

export interface SplitSummary {
  rows: number;
  f2: F2Summary;
  f2_tuned?: F2Summary;
  auc: { macro: number | null; micro: number | null; weighted: number | null; perClass: Record<string, number | null> };
  average_precision: { macro: number | null; micro: number | null };
  logloss: number;
  thresholds?: number[];
}

export interface SummaryOptions {
  classes: readonly string[];
  /** Thresholds fitted on validation / out-of-fold predictions; never fitted on the split summarised here. */
  thresholds?: ThresholdSet;
  zeroDivision?: ZeroDivision;
  warn?: Warn;
}

const averages: FbetaAverage[] = ['samples', 'micro', 'macro', 'weighted'];

export function summarizeSplit(scores: ScoreMatrix, targets: LabelMatrix, options: SummaryOptions): SplitSummary {
  const warn = options.warn ?? warnToLog;
  const reporting = { warn, classNames: options.classes };
  if (options.classes.length !== scores.cols) throw new Error(`summary: ${options.classes.length} class names for ${scores.cols} columns`);
  if (options.thresholds && options.thresholds.classes.join('\u0000') !== options.classes.join('\u0000')) {
    throw new Error(`summary: thresholds were fitted for classes [${options.thresholds.classes.join(', ')}], not [${options.classes.join(', ')}]`);
  }
  const f2At = (threshold: number | number[]) =>
    Object.fromEntries(
      averages.map((average) => [average, fbetaScore(scores, targets, average, { ...reporting, threshold, zeroDivision: options.zeroDivision })]),
    ) as F2Summary;
  const perClass = rocAucPerClass(scores, targets, reporting);
  // Per-class ROC-AUC has named any undefined class; the averages need not say it again.
  const quiet = { warn: () => {} };
  return {
    rows: scores.rows,
    f2: f2At(0.5),
    ...(options.thresholds ? { f2_tuned: f2At(options.thresholds.thresholds) } : {}),
    auc: {
      macro: rocAucScore(scores, targets, 'macro', quiet),
      micro: rocAucScore(scores, targets, 'micro', reporting),
      weighted: rocAucScore(scores, targets, 'weighted', quiet),
      perClass: Object.fromEntries(options.classes.map((name, j) => [name, perClass[j]])),
    },
    average_precision: {
      macro: averagePrecisionScore(scores, targets, 'macro', reporting),
      micro: averagePrecisionScore(scores, targets, 'micro', reporting),
    },
    logloss: logLoss(scores, targets),
    ...(options.thresholds ? { thresholds: [...options.thresholds.thresholds] } : {}),
  };
}
