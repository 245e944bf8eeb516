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
  /** Read from a file: each row's line in it (for messages). */
  lines?: readonly number[];
}

/** The scores of `columns`, row-major [rows, columns.length]; a column the table lacks is an error naming it. */
export function selectScores(table: Pick<PredictionTable, 'ids' | 'columns' | 'scores'> & { file?: string }, columns: readonly string[]): Float64Array {
  const indices = columns.map((name) => table.columns.indexOf(name));
  const missing = columns.filter((_, j) => indices[j] < 0);
  if (missing.length > 0) throw new Error(`${table.file ?? 'predictions'}: no score column for ${missing.join(', ')}`);
  const width = table.columns.length;
  const out = new Float64Array(table.ids.length * columns.length);
  for (let r = 0; r < table.ids.length; r++) indices.forEach((c, j) => (out[r * columns.length + j] = table.scores[r * width + c]));
  return out;
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

/** The binary classes' scores and 0/1 targets of a predictions table (a target that is not 0 or 1 is an error naming its row). */
export function binaryPredictions(table: PredictionTable & { file: string }, classes: readonly string[]): BinaryPredictions {
  const { scores, targets } = columnsWithTruth(table, classes);
  const bad = targets.data.findIndex((value) => value !== 0 && value !== 1);
  if (bad >= 0) {
    const row = Math.floor(bad / classes.length);
    const column = `${TRUE_PREFIX}${classes[bad % classes.length]}`;
    const where = table.lines ? at(table.file, table.lines[row], column) : `${table.file}: row '${table.ids[row]}', column '${column}'`;
    throw new Error(`${where}: target ${targets.data[bad]} is not 0 or 1`);
  }
  return {
    file: table.file,
    ids: [...table.ids],
    ...(table.patients ? { patients: [...table.patients] } : {}),
    classes: [...classes],
    scores,
    targets: matrix(Uint8Array.from(targets.data), targets.rows, targets.cols),
  };
}

/** Reads the scores of `classes` and their targets (`true_<class>`, 0 or 1) from a predictions file. */
export async function readBinaryPredictions(file: string, classes: readonly string[]): Promise<BinaryPredictions> {
  return binaryPredictions(await readPredictionsFile(file), classes);
}

/**
 * The table's rows reordered to `ids`: the same rows in another table's order (a variant against the reference, a
 * fold against the first fold). Missing or extra ids are an error naming the first few of each.
 */
export function alignTo<T extends PredictionTable & { file: string }>(table: T, ids: readonly string[], other = 'the reference'): T {
  const rowOf = new Map(table.ids.map((id, r) => [id, r]));
  const wanted = new Set(ids);
  const missing = ids.filter((id) => !rowOf.has(id));
  const extra = table.ids.filter((id) => !wanted.has(id));
  if (missing.length > 0 || extra.length > 0 || rowOf.size !== table.ids.length) {
    const list = (names: readonly string[]) => `${names.slice(0, 5).join(', ')}${names.length > 5 ? `, … (${names.length})` : ''}`;
    const parts = [missing.length > 0 ? `missing ${list(missing)}` : '', extra.length > 0 ? `extra ${list(extra)}` : '', rowOf.size !== table.ids.length ? 'repeated ids' : ''].filter(Boolean);
    throw new Error(`${table.file}: its rows differ from ${other}'s (${table.ids.length} vs ${ids.length} rows; ${parts.join('; ')}): were they predicted on different data?`);
  }
  const order = ids.map((id) => rowOf.get(id)!);
  const pick = (data: ArrayLike<number>, width: number) => {
    const out = new Float64Array(order.length * width);
    order.forEach((row, r) => {
      for (let c = 0; c < width; c++) out[r * width + c] = data[row * width + c];
    });
    return out;
  };
  return {
    ...table,
    ids: [...ids],
    ...(table.patients ? { patients: order.map((row) => table.patients![row]) } : {}),
    ...(table.lines ? { lines: order.map((row) => table.lines![row]) } : {}),
    scores: pick(table.scores, table.columns.length),
    ...(table.labels ? { labels: { classes: table.labels.classes, data: pick(table.labels.data, table.labels.classes.length) } } : {}),
    ...(table.truth ? { truth: pick(table.truth, (table.truthColumns ?? []).length) } : {}),
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
    lines: table.rows.map((row) => row.line),
    columns,
    scores: read(columns),
    ...(labelColumns.length > 0 ? { labels: { classes: labelColumns.map((name) => name.slice(LABEL_PREFIX.length)), data: read(labelColumns) } } : {}),
    ...(truthColumns.length > 0 ? { truthColumns: truthColumns.map((name) => name.slice(TRUE_PREFIX.length)), truth: read(truthColumns) } : {}),
  };
}
