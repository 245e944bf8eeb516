import { writeFileAtomic } from '../core/atomic.ts';
import { formatCsv } from '../core/csv.ts';
import { at, readCsv, requireColumns } from '../data/datasets/csv.ts';
import { matrix, type LabelMatrix, type ScoreMatrix } from '../metrics/matrix.ts';
import { LABEL_PREFIX, PATIENT_COLUMN, TRUE_PREFIX } from '../metrics/submission/read.ts';
import { runPath } from './layout.ts';

/**
 * `predictions-oof.csv` and `predictions-test.csv` (and what `sliceseq predict` writes): one row per predicted row
 * (a patient, or at slice level a slice named by its own id, data/patients.ts `sliceId`): `id`, `patient` (slice
 * level), every score column, `label_<class>` 0/1 decisions where thresholds were applied, and the true target of
 * each target column as `true_<column>` when known. Scores are written with 6 significant digits.
 */
export type PredictionSplit = 'validation' | 'test';

const fileKey = { validation: 'predictionsValidation', test: 'predictionsTest' } as const;

export function predictionsPath(runDir: string, split: PredictionSplit): string {
  return runPath(runDir, fileKey[split]);
}

/** What a predictions file holds: row-major `scores` [ids × columns], `truth` [ids × truthColumns] when known. */
export interface PredictionTable {
  ids: readonly string[];
  /** Slice level: each row's patient. */
  patients?: readonly string[];
  columns: readonly string[];
  scores: ArrayLike<number>;
  /** 0/1 decisions of the binary classes, row-major [ids × labels.classes]. */
  labels?: { classes: readonly string[]; data: ArrayLike<number> };
  truthColumns?: readonly string[];
  truth?: ArrayLike<number>;
}

/**
 * The scores of `columns` and their targets (`true_<column>`) as matrices, rows in the table's order; a column
 * without a score or a true_ column is an error naming the file and the columns.
 */
export function columnsWithTruth(table: PredictionTable & { file: string }, columns: readonly string[]): { scores: ScoreMatrix; targets: LabelMatrix } {
  const rows = table.ids.length;
  const truthColumns = table.truthColumns ?? [];
  const scoreAt = columns.map((name) => table.columns.indexOf(name));
  const truthAt = columns.map((name) => truthColumns.indexOf(name));
  const missing = columns.filter((_, j) => scoreAt[j] < 0 || truthAt[j] < 0);
  if (missing.length > 0) throw new Error(`${table.file}: no score and true_ column for ${missing.join(', ')}`);
  const scores = new Float64Array(rows * columns.length);
  const targets = new Float64Array(rows * columns.length);
  for (let r = 0; r < rows; r++) {
    columns.forEach((_, j) => {
      scores[r * columns.length + j] = table.scores[r * table.columns.length + scoreAt[j]];
      targets[r * columns.length + j] = table.truth![r * truthColumns.length + truthAt[j]];
    });
  }
  return { scores: matrix(scores, rows, columns.length), targets: matrix(targets, rows, columns.length) };
}

export function formatPredictions(table: PredictionTable): string {
  const { ids, patients, columns, scores, labels } = table;
  const truthColumns = table.truth ? (table.truthColumns ?? []) : [];
  const labelClasses = labels?.classes ?? [];
  const rows: Array<Array<string | number>> = [
    ['id', ...(patients ? [PATIENT_COLUMN] : []), ...columns, ...labelClasses.map((c) => `${LABEL_PREFIX}${c}`), ...truthColumns.map((c) => `true_${c}`)],
  ];
  ids.forEach((id, r) => {
    const row: Array<string | number> = [id];
    if (patients) row.push(patients[r]);
    for (let c = 0; c < columns.length; c++) row.push(Number(scores[r * columns.length + c].toPrecision(6)));
    for (let c = 0; c < labelClasses.length; c++) row.push(labels!.data[r * labelClasses.length + c]);
    for (let c = 0; c < truthColumns.length; c++) row.push(table.truth![r * truthColumns.length + c]);
    rows.push(row);
  });
  return formatCsv(rows);
}

export function writePredictions(runDir: string, split: PredictionSplit, table: PredictionTable): void {
  writeFileAtomic(predictionsPath(runDir, split), formatPredictions(table));
}

/** One split's predictions of the binary classes: scores and 0/1 targets, by row id. */
export interface BinaryPredictions {
  file: string;
  ids: string[];
  /** Each row's patient, where the file has a `patient` column (slice level). */
  patients?: string[];
  classes: string[];
  scores: ScoreMatrix;
  targets: LabelMatrix;
}

function numberCell(text: string | undefined, file: string, line: number, column: string): number {
  const value = text === undefined || text.trim() === '' ? Number.NaN : Number(text);
  if (!Number.isFinite(value)) throw new Error(`${at(file, line, column)}: '${text ?? ''}' is not a number`);
  return value;
}

/** Reads the scores of `classes` and their targets (`true_<class>`, 0 or 1) from a predictions file. */
export async function readBinaryPredictions(file: string, classes: readonly string[]): Promise<BinaryPredictions> {
  const table = await readCsv(file);
  requireColumns(table, ['id', ...classes, ...classes.map((c) => `true_${c}`)]);
  const rows = table.rows.length;
  const scores = new Float64Array(rows * classes.length);
  const targets = new Uint8Array(rows * classes.length);
  table.rows.forEach(({ line, cells }, r) => {
    classes.forEach((name, j) => {
      scores[r * classes.length + j] = numberCell(cells[name], file, line, name);
      const truth = numberCell(cells[`true_${name}`], file, line, `true_${name}`);
      if (truth !== 0 && truth !== 1) throw new Error(`${at(file, line, `true_${name}`)}: target ${truth} is not 0 or 1`);
      targets[r * classes.length + j] = truth;
    });
  });
  return {
    file,
    ids: table.rows.map((row) => row.cells.id),
    ...(table.header.includes(PATIENT_COLUMN) ? { patients: table.rows.map((row) => row.cells[PATIENT_COLUMN]) } : {}),
    classes: [...classes],
    scores: matrix(scores, rows, classes.length),
    targets: matrix(targets, rows, classes.length),
  };
}

export function readRunPredictions(runDir: string, split: PredictionSplit, classes: readonly string[]): Promise<BinaryPredictions> {
  return readBinaryPredictions(predictionsPath(runDir, split), classes);
}

/** Reads a whole predictions file back (every score column, decisions and targets), checking each cell. */
export async function readPredictionsFile(file: string): Promise<PredictionTable & { file: string }> {
  const table = await readCsv(file);
  requireColumns(table, ['id']);
  const columns = table.header.filter((name) => name !== 'id' && name !== PATIENT_COLUMN && !name.startsWith(LABEL_PREFIX) && !name.startsWith(TRUE_PREFIX));
  const labelColumns = table.header.filter((name) => name.startsWith(LABEL_PREFIX));
  const truthColumns = table.header.filter((name) => name.startsWith(TRUE_PREFIX));
  const read = (names: readonly string[]) => {
    const out = new Float64Array(table.rows.length * names.length);
    table.rows.forEach(({ line, cells }, r) => names.forEach((name, c) => (out[r * names.length + c] = numberCell(cells[name], file, line, name))));
    return out;
  };
  return {
    file,
    ids: table.rows.map((row) => row.cells.id),
    ...(table.header.includes(PATIENT_COLUMN) ? { patients: table.rows.map((row) => row.cells[PATIENT_COLUMN]) } : {}),
    columns,
    scores: read(columns),
    ...(labelColumns.length > 0 ? { labels: { classes: labelColumns.map((name) => name.slice(LABEL_PREFIX.length)), data: read(labelColumns) } } : {}),
    ...(truthColumns.length > 0 ? { truthColumns: truthColumns.map((name) => name.slice(TRUE_PREFIX.length)), truth: read(truthColumns) } : {}),
  };
}
