import { writeFileAtomic } from '../../core/atomic.ts';
import { formatCsv } from '../../core/csv.ts';
import { at, type CsvTable } from '../../data/datasets/csv.ts';
import { rsnaSubtypes } from '../../data/datasets/rsna-ich.ts';
import { listSome } from '../policy.ts';
import { detectFormat, type SubmissionFormat } from './read.ts';

/**
 * Writes predictions as a Kaggle submission: long (`ID,Label`, rows `ID_<id>_<class>`), wide (an id column
 * and one column per class), tags (`Id,Predicted`, the classes at or above their threshold, space-separated) or
 * rsna (long rows `ID_<image>_<subtype>` for the five hemorrhage subtypes and `any`). Given the competition's
 * sample submission, rows (and wide columns) follow its order and header, and its id set must be matched
 * exactly. The text depends only on the inputs, so the same predictions give the same bytes.
 */
export type WriteFormat = SubmissionFormat | 'rsna';
export const writeFormats: readonly WriteFormat[] = ['rsna', 'long', 'wide', 'tags'];

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
  /** The competition's sample submission: row order, header and the exact set of ids to write. */
  sample?: CsvTable;
}

/** A submission before it becomes text: the header and rows, each row's first cell its key. */
interface SubmissionRows {
  header: string[];
  rows: string[][];
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

function longRows(predictions: SubmissionPredictions, options: SubmissionOptions): SubmissionRows {
  check(predictions);
  const { ids, classes, values } = predictions;
  const digits = options.digits ?? 6;
  const rows: string[][] = [];
  ids.forEach((id, r) => classes.forEach((name, j) => rows.push([`ID_${id}_${name}`, formatProbability(values[r * classes.length + j], digits)])));
  return { header: ['ID', 'Label'], rows };
}

function wideRows(predictions: SubmissionPredictions, options: SubmissionOptions): SubmissionRows {
  check(predictions);
  const { ids, classes, values } = predictions;
  const digits = options.digits ?? 6;
  const rows = ids.map((id, r) => [id, ...classes.map((_, j) => formatProbability(values[r * classes.length + j], digits))]);
  return { header: [options.idColumn ?? 'id', ...classes], rows };
}

function tagsRows(predictions: SubmissionPredictions, options: SubmissionOptions): SubmissionRows {
  check(predictions);
  const { ids, classes, values } = predictions;
  const thresholds = options.thresholds ?? 0.5;
  if (typeof thresholds !== 'number' && thresholds.length !== classes.length) {
    throw new Error(`submission: ${thresholds.length} thresholds for ${classes.length} classes`);
  }
  const spaced = classes.find((name) => /\s/.test(name) || name === '');
  if (spaced !== undefined) throw new Error(`submission: class '${spaced}' cannot be a tag (it is empty or has whitespace)`);
  const thresholdOf = (j: number) => (typeof thresholds === 'number' ? thresholds : thresholds[j]);
  const rows = ids.map((id, r) => [id, classes.filter((_, j) => values[r * classes.length + j] >= thresholdOf(j)).join(' ')]);
  return { header: [options.idColumn ?? 'Id', 'Predicted'], rows };
}

/** The RSNA image key: an image id `ID_12cadc6af` (the file stem) becomes the `12cadc6af` of `ID_12cadc6af_any`. */
function rsnaImage(id: string): string {
  return id.startsWith('ID_') ? id.slice(3) : id;
}

/**
 * RSNA Intracranial Hemorrhage rows: `ID_<image>_<subtype>` for the five subtypes, then `any`. `any` is the
 * model's own output when it was trained with one; otherwise the probability that at least one subtype is
 * present if they were independent, 1 − Π(1 − p_subtype).
 */
export function rsnaPredictions(predictions: SubmissionPredictions): SubmissionPredictions {
  const { ids, classes, values } = predictions;
  const missing = rsnaSubtypes.filter((name) => !classes.includes(name));
  if (missing.length > 0) throw new Error(`submission: the rsna format needs the classes ${rsnaSubtypes.join(', ')}; the model has no ${missing.join(', ')}`);
  const columns = rsnaSubtypes.map((name) => classes.indexOf(name));
  const anyColumn = classes.indexOf('any');
  const width = rsnaSubtypes.length + 1;
  const out = new Float64Array(ids.length * width);
  ids.forEach((_, r) => {
    let none = 1;
    columns.forEach((column, j) => {
      const p = values[r * classes.length + column];
      out[r * width + j] = p;
      none *= 1 - p;
    });
    out[r * width + rsnaSubtypes.length] = anyColumn >= 0 ? values[r * classes.length + anyColumn] : 1 - none;
  });
  return { ids: ids.map(rsnaImage), classes: [...rsnaSubtypes, 'any'], values: out };
}

const builders: Record<WriteFormat, (predictions: SubmissionPredictions, options: SubmissionOptions) => SubmissionRows> = {
  long: longRows,
  wide: wideRows,
  tags: tagsRows,
  rsna: (predictions, options) => longRows(rsnaPredictions(predictions), options),
};

/** `3 (a, b, c)`. */
function counted(items: readonly string[]): string {
  return `${items.length} (${listSome(items)})`;
}

/**
 * Rows in the sample submission's order, under its header: the sample must be in the same layout, with the
 * same class columns (wide), and name exactly the written keys; otherwise the error lists what is missing and extra.
 */
function followSample(written: SubmissionRows, format: WriteFormat, sample: CsvTable): SubmissionRows {
  const layout = format === 'rsna' ? 'long' : format;
  const sampleLayout = detectFormat(sample.header, sample.file);
  if (sampleLayout !== layout) throw new Error(`${sample.file}: the sample submission is in ${sampleLayout} format, not ${layout}`);
  let columns = written.header.map((_, c) => c);
  if (layout === 'wide') {
    const ours = written.header.slice(1);
    const theirs = sample.header.slice(1);
    const missing = theirs.filter((name) => !ours.includes(name));
    const extra = ours.filter((name) => !theirs.includes(name));
    if (missing.length > 0 || extra.length > 0) {
      throw new Error(`${sample.file}: the sample submission's columns differ: the predictions lack ${counted(missing)}; they add ${counted(extra)}`);
    }
    columns = [0, ...theirs.map((name) => ours.indexOf(name) + 1)];
  }
  // One map from key to written row, one pass over the sample (727,392 rows for RSNA stage 2: the cost is the map).
  const rowOf = new Map<string, number>();
  written.rows.forEach((row, i) => rowOf.set(row[0], i));
  const usedOn = new Int32Array(written.rows.length);
  const missingOn = new Map<string, number>();
  const keyColumn = sample.header[0];
  const order = new Int32Array(sample.rows.length);
  sample.rows.forEach((row, r) => {
    const key = row.cells[keyColumn];
    const i = rowOf.get(key);
    const first = i === undefined ? missingOn.get(key) : usedOn[i] || undefined;
    if (first !== undefined) throw new Error(`${at(sample.file, row.line)}: duplicate id '${key}' (first on line ${first})`);
    if (i === undefined) missingOn.set(key, row.line);
    else usedOn[i] = row.line;
    order[r] = i ?? -1;
  });
  const missing = [...missingOn.keys()];
  const extra = written.rows.filter((_, i) => usedOn[i] === 0).map((row) => row[0]);
  if (missing.length > 0 || extra.length > 0) {
    const parts = [
      ...(missing.length > 0 ? [`missing ids: ${counted(missing)} of the sample submission have no prediction`] : []),
      ...(extra.length > 0 ? [`extra ids: ${counted(extra)} are not in the sample submission`] : []),
    ];
    throw new Error(`submission does not match ${sample.file}: ${parts.join('; ')}`);
  }
  const rows = Array.from(order, (i) => (layout === 'wide' ? columns.map((c) => written.rows[i][c]) : written.rows[i]));
  return { header: [...sample.header], rows };
}

/** The submission as CSV text in `format`. */
export function submissionText(predictions: SubmissionPredictions, format: WriteFormat, options: SubmissionOptions = {}): string {
  const written = builders[format](predictions, options);
  const ordered = options.sample ? followSample(written, format, options.sample) : written;
  return formatCsv([ordered.header, ...ordered.rows]);
}

export function longSubmission(predictions: SubmissionPredictions, options: SubmissionOptions = {}): string {
  return submissionText(predictions, 'long', options);
}

export function wideSubmission(predictions: SubmissionPredictions, options: SubmissionOptions = {}): string {
  return submissionText(predictions, 'wide', options);
}

export function tagsSubmission(predictions: SubmissionPredictions, options: SubmissionOptions = {}): string {
  return submissionText(predictions, 'tags', options);
}

/** Writes the submission file atomically. */
export function writeSubmission(path: string, predictions: SubmissionPredictions, format: WriteFormat, options: SubmissionOptions = {}): void {
  writeFileAtomic(path, submissionText(predictions, format, options));
}
