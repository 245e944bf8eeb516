import { writeFileAtomic } from '../../core/atomic.ts';
import type { SubmissionFormat } from './read.ts';
import { formatCsv } from '../../core/csv.ts';

/**
 * Writes predictions as a Kaggle submission: long (`ID,Label`, rows `ID_<id>_<class>`), wide (an id column
 * and one column per class) or tags (`Id,Predicted`, the classes at or above their threshold, space-separated).
 */
export interface SubmissionPredictions {
  ids: readonly string[];
  classes: readonly string[];
  /** Probabilities, row-major [ids.length, classes.length]. */
  values: ArrayLike<number>;
}

export interface SubmissionOptions {
  /** Significant digits of a probability (6 by default). */
  digits?: number;
  /** Wide and tags formats: the id column's name (`id` wide, `Id` tags by default). */
  idColumn?: string;
  /** Tags format: one threshold for every class or one per class (0.5 by default); `score >= threshold` is a tag. */
  thresholds?: number | readonly number[];
}

function check(predictions: SubmissionPredictions): void {
  const { ids, classes, values } = predictions;
  if (values.length !== ids.length * classes.length) {
    throw new Error(`submission: ${values.length} values for ${ids.length} ids × ${classes.length} classes`);
  }
  const seen = new Set<string>();
  for (const id of ids) {
    if (seen.has(id)) throw new Error(`submission: duplicate id '${id}'`);
    seen.add(id);
  }
  for (let i = 0; i < values.length; i++) {
    if (!(values[i] >= 0 && values[i] <= 1)) {
      throw new Error(`submission: value ${values[i]} for id '${ids[Math.floor(i / classes.length)]}', class '${classes[i % classes.length]}' is not a probability`);
    }
  }
}

function formatProbability(value: number, digits: number): string {
  return String(Number(value.toPrecision(digits)));
}

export function longSubmission(predictions: SubmissionPredictions, options: SubmissionOptions = {}): string {
  check(predictions);
  const { ids, classes, values } = predictions;
  const digits = options.digits ?? 6;
  const rows = [['ID', 'Label']];
  ids.forEach((id, r) => classes.forEach((name, j) => rows.push([`ID_${id}_${name}`, formatProbability(values[r * classes.length + j], digits)])));
  return formatCsv(rows);
}

export function wideSubmission(predictions: SubmissionPredictions, options: SubmissionOptions = {}): string {
  check(predictions);
  const { ids, classes, values } = predictions;
  const digits = options.digits ?? 6;
  const rows = [[options.idColumn ?? 'id', ...classes]];
  ids.forEach((id, r) => rows.push([id, ...classes.map((_, j) => formatProbability(values[r * classes.length + j], digits))]));
  return formatCsv(rows);
}

export function tagsSubmission(predictions: SubmissionPredictions, options: SubmissionOptions = {}): string {
  check(predictions);
  const { ids, classes, values } = predictions;
  const thresholds = options.thresholds ?? 0.5;
  if (typeof thresholds !== 'number' && thresholds.length !== classes.length) {
    throw new Error(`submission: ${thresholds.length} thresholds for ${classes.length} classes`);
  }
  const spaced = classes.find((name) => /\s/.test(name) || name === '');
  if (spaced !== undefined) throw new Error(`submission: class '${spaced}' cannot be a tag (it is empty or has whitespace)`);
  const thresholdOf = (j: number) => (typeof thresholds === 'number' ? thresholds : thresholds[j]);
  const rows = [[options.idColumn ?? 'Id', 'Predicted']];
  ids.forEach((id, r) => rows.push([id, classes.filter((_, j) => values[r * classes.length + j] >= thresholdOf(j)).join(' ')]));
  return formatCsv(rows);
}

const writers: Record<SubmissionFormat, (predictions: SubmissionPredictions, options?: SubmissionOptions) => string> = {
  long: longSubmission,
  wide: wideSubmission,
  tags: tagsSubmission,
};

/** Writes the submission file atomically. */
export function writeSubmission(path: string, predictions: SubmissionPredictions, format: SubmissionFormat, options: SubmissionOptions = {}): void {
  writeFileAtomic(path, writers[format](predictions, options));
}
