import { z } from 'zod';
import { log } from '../core/log.ts';
import type { Warn } from './matrix.ts';

/**
 * What a ratio with a zero denominator is worth (precision with no predicted positives, recall with no true
 * positives, F-beta of a row or class with neither) — scikit-learn's `zero_division`: `'warn'` scores 0 and
 * says so, `0` and `1` score that value quietly because the caller chose it.
 */
/** The policies that choose the value quietly (what a run's evaluation takes: `evaluation.zeroDivision`). */
export const zeroDivisionValueSchema = z.union([z.literal(0), z.literal(1)]);
export const zeroDivisionSchema = z.union([z.literal('warn'), ...zeroDivisionValueSchema.options]);
export type ZeroDivision = z.output<typeof zeroDivisionSchema>;

/**
 * The one default of every F2 sliceseq reports (runs, `score`, reports, ablation and cross-validation summaries):
 * a row with no true and no predicted label scores 1. A normal patient (or slice) without any finding that the
 * model also calls normal is a perfect answer, as Kaggle's mean-F2 leaderboards counted it; under 0 every
 * correctly cleared normal row would pull the mean down, so the score would mostly measure how many normals the
 * data holds. The library's metric functions keep scikit-learn's `'warn'` default (scores 0 and says so).
 */
export const DEFAULT_ZERO_DIVISION = 1 as const;

/** How an output names the policy behind an F2: `zero division 1 (a row with no true and no predicted label scores 1)`. */
export function describeZeroDivision(policy: ZeroDivision): string {
  const value = zeroDivisionValue(policy);
  return `zero division ${policy} (a row with no true and no predicted label scores ${value}${policy === 'warn' ? ', with a warning' : ''})`;
}

export function zeroDivisionValue(policy: ZeroDivision): number {
  return policy === 1 ? 1 : 0;
}

/**
 * A class with no positive target in the data: `'include'` scores it like any other class (scikit-learn's
 * behaviour: F-beta = zero division value when it is never predicted either, else 0); `'exclude'` leaves it
 * out of every average, reports it as null and says so.
 */
export const absentClassSchema = z.enum(['include', 'exclude']);
export type AbsentClassPolicy = z.output<typeof absentClassSchema>;

/**
 * The default sink for policy notes: the log's warning level (stderr), once per metric (the text before the first
 * colon, e.g. `ROC-AUC`): validation repeats them every epoch and fold, so later ones are counted, not shown.
 */
export const warnToLog: Warn = (message) => log.once('warn', message.split(':')[0], message);

/** `a, b, c` or `a, b, c and 7 more`: keeps warnings about many classes or rows readable. */
export function listSome(items: readonly (string | number)[], most = 5): string {
  const shown = items.slice(0, most).join(', ');
  return items.length > most ? `${shown} and ${items.length - most} more` : shown;
}

/** Options every metric takes for saying what it did: where notes go and how to name classes in them. */
export interface ReportingOptions {
  /** Receives policy notes (defaults to the log's warning level). */
  warn?: Warn;
  /** Class names for messages; classes are called by column index without them. */
  classNames?: readonly string[];
  /** Row (sample) names for messages, e.g. ids; rows are called by index without them. */
  rowNames?: readonly string[];
}

export function classLabel(options: ReportingOptions, column: number): string {
  return options.classNames?.[column] ?? `column ${column}`;
}

export function rowLabel(options: ReportingOptions, row: number): string {
  return options.rowNames?.[row] !== undefined ? `'${options.rowNames[row]}'` : `row ${row}`;
}
