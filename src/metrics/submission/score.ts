import { z } from 'zod';
import type { CsvTable } from '../../data/datasets/csv.ts';
import { parseOrThrow } from '../../core/validate.ts';
import { matrix, selectRows, type Warn } from '../matrix.ts';
import { DEFAULT_ZERO_DIVISION, describeZeroDivision, listSome, warnToLog, zeroDivisionSchema } from '../policy.ts';
import { createMetric } from '../registry.ts';
import { detectFormat, readSubmissionTable, type SubmissionTable } from './read.ts';

/**
 * Scores a submission against a solution the way a competition does: the submission must hold exactly the
 * solution's ids and classes, each once, each a probability; then the metric is computed on all scored rows and
 * on the Public and Private parts of the solution's `Usage` column (Ignored rows are not scored).
 */
export const scoreOptionsSchema = z
  .object({
    metric: z.enum(['f2', 'auc', 'logloss', 'wlogloss']).default('f2'),
    /** f2: samples (default) / micro / macro; auc: macro (default) / micro. */
    average: z.enum(['samples', 'micro', 'macro']).optional(),
    /** f2 only: a probability at or above it is a positive prediction (0.5 by default). */
    threshold: z.number().min(0).max(1).optional(),
    zeroDivision: zeroDivisionSchema.default(DEFAULT_ZERO_DIVISION),
    /** Class names, for long-format keys whose split is ambiguous (inferred otherwise). */
    classes: z.array(z.string().min(1)).min(1).optional(),
  })
  .strict();
export type ScoreOptions = z.input<typeof scoreOptionsSchema>;

export interface SubmissionScore {
  public?: number | null;
  private?: number | null;
  all: number | null;
  /** What produced the numbers (metric, average, threshold and, for F2, the zero-division policy). */
  policy: string;
}

function describePolicy(config: { name: string } & Record<string, unknown>): string {
  if (config.name !== 'f2') return `${config.name}${config.average ? ` ${String(config.average)}` : ''}`;
  return `f2 ${String(config.average)} at threshold ${String(config.threshold)}; ${describeZeroDivision(config.zeroDivision as 'warn' | 0 | 1)}`;
}

function metricConfig(options: z.output<typeof scoreOptionsSchema>): { name: string } & Record<string, unknown> {
  const { metric, average, threshold, zeroDivision } = options;
  if (threshold !== undefined && metric !== 'f2') throw new Error(`--threshold applies to f2 only, not ${metric}`);
  switch (metric) {
    case 'f2':
      return { name: 'f2', average: average ?? 'samples', threshold: threshold ?? 0.5, zeroDivision };
    case 'auc':
      if (average === 'samples') throw new Error("ROC-AUC has no 'samples' average here; use macro or micro");
      return { name: 'auc', average: average ?? 'macro' };
    case 'logloss':
    case 'wlogloss':
      if (average !== undefined) throw new Error(`--average does not apply to ${metric} (every cell counts once)`);
      return { name: metric };
  }
}

/** `3 ids (a, b, c)`: counts and names the first few. */
function some(items: string[]): string {
  return `${items.length} (${listSome(items)})`;
}

/**
 * The class columns to score. A wide submission must have a column for every solution class and, unless the
 * solution is in tags format, no other. Tags are an open set: a class only the submission uses is scored as a
 * class with no positive target (each use a false positive). Long keys with an unknown class are extra ids.
 */
function scoredClasses(submission: SubmissionTable, solution: SubmissionTable): string[] {
  const openSet = submission.format === 'tags' || solution.format === 'tags';
  if (submission.format === 'wide' || submission.format === 'sliceseq') {
    const missing = solution.classes.filter((c) => !submission.classes.includes(c));
    // A predictions file holds every decoded column of its run; the solution picks those scored.
    const unexpected = openSet || submission.format === 'sliceseq' ? [] : submission.classes.filter((c) => !solution.classes.includes(c));
    if (missing.length > 0 || unexpected.length > 0) {
      const parts = [
        ...(missing.length > 0 ? [`missing ${missing.map((c) => `'${c}'`).join(', ')}`] : []),
        ...(unexpected.length > 0 ? [`unexpected ${unexpected.map((c) => `'${c}'`).join(', ')}`] : []),
      ];
      throw new Error(`${submission.file}: wrong columns: ${parts.join('; ')}; expected the id column, then ${solution.classes.join(',')}`);
    }
  }
  return openSet && submission.format !== 'sliceseq' ? [...solution.classes, ...submission.classes.filter((c) => !solution.classes.includes(c))] : [...solution.classes];
}

/** A row's keys in the file's own terms: one per class in long format, the id otherwise. */
function keysOf(table: SubmissionTable, id: string, classes: readonly string[]): string[] {
  return table.format === 'long' ? classes.map((c) => table.keyOf(id, c)) : [id];
}

/** Aligns the submission to the solution's ids and classes, rejecting missing, extra and unset cells. */
function align(submission: SubmissionTable, solution: SubmissionTable, classes: string[]) {
  const rowOf = new Map(submission.ids.map((id, r) => [id, r]));
  const solutionIds = new Set(solution.ids);
  const k = classes.length;
  const predictions = new Float64Array(solution.ids.length * k);
  const targets = new Uint8Array(solution.ids.length * k);
  const missing: string[] = [];
  const extra: string[] = [];
  const given = (r: number, c: string) => {
    const column = submission.classes.indexOf(c);
    return column >= 0 ? submission.values[r * submission.classes.length + column] : Number.NaN;
  };
  submission.ids.forEach((id, r) => {
    if (!solutionIds.has(id)) extra.push(...keysOf(submission, id, submission.classes.filter((c) => !Number.isNaN(given(r, c)))));
    // A long submission can name a class the solution does not have.
    else if (submission.format === 'long') extra.push(...keysOf(submission, id, submission.classes.filter((c) => !classes.includes(c) && !Number.isNaN(given(r, c)))));
  });
  solution.ids.forEach((id, s) => {
    classes.forEach((c, j) => {
      const solutionColumn = solution.classes.indexOf(c);
      targets[s * k + j] = solutionColumn >= 0 ? solution.values[s * solution.classes.length + solutionColumn] : 0;
    });
    const r = rowOf.get(id);
    if (r === undefined) {
      missing.push(...keysOf(submission, id, classes));
      return;
    }
    classes.forEach((c, j) => {
      const value = given(r, c);
      // Tags list only the positive classes: an unlisted class is a 0.
      if (Number.isNaN(value) && submission.format !== 'tags') missing.push(submission.keyOf(id, c));
      else predictions[s * k + j] = Number.isNaN(value) ? 0 : value;
    });
  });
  if (missing.length > 0) throw new Error(`${submission.file}: missing ids: ${some(missing)} of the solution are not in the submission`);
  if (extra.length > 0) throw new Error(`${submission.file}: extra ids: ${some(extra)} are not in the solution`);
  return { predictions: matrix(predictions, solution.ids.length, k), targets: matrix(targets, solution.ids.length, k) };
}

/**
 * Scores a parsed submission against a parsed solution; prints nothing, returns the split scores. Without a
 * solution, a sliceseq predictions file is scored against its own `true_` columns.
 */
export function scoreSubmission(submissionCsv: CsvTable, solutionCsv: CsvTable | undefined, options: ScoreOptions = {}, warn: Warn = warnToLog): SubmissionScore {
  const resolved = parseOrThrow(scoreOptionsSchema, options, 'score options');
  const config = metricConfig(resolved);
  if (!solutionCsv && detectFormat(submissionCsv.header, submissionCsv.file) !== 'sliceseq') {
    throw new Error(`${submissionCsv.file}: a solution is needed (--solution FILE); only a sliceseq predictions file with true_<class> columns is its own`);
  }
  const solution = readSubmissionTable(solutionCsv ?? submissionCsv, 'solution', resolved.classes);
  const submission = readSubmissionTable(submissionCsv, 'submission', solution.classes);
  const classes = scoredClasses(submission, solution);
  const { predictions, targets } = align(submission, solution, classes);
  const metric = createMetric(config, { columns: classes });
  const scoreRows = (rows: number[]): number | null => {
    if (rows.length === 0) return null;
    const ids = rows.map((r) => solution.ids[r]);
    const value = metric.compute(selectRows(predictions, rows), selectRows(targets, rows), warn, ids);
    if (value !== null && typeof value !== 'number') throw new Error(`metric '${metric.label}' does not give one number`);
    return value;
  };
  const all = solution.ids.map((_, r) => r);
  const policy = describePolicy(config);
  if (!solution.usage) return { all: scoreRows(all), policy };
  const usage = solution.usage.map((u) => u.toLowerCase());
  const part = (name: string) => all.filter((r) => usage[r] === name);
  return {
    public: scoreRows(part('public')),
    private: scoreRows(part('private')),
    all: scoreRows(all.filter((r) => usage[r] !== 'ignored')),
    policy,
  };
}
