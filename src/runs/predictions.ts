import { writeFileAtomic } from '../core/atomic.ts';
import { formatCsv } from '../core/csv.ts';
import { at, readCsv, requireColumns } from '../data/datasets/csv.ts';
import { matrix } from '../metrics/matrix.ts';
import { LABEL_PREFIX, PATIENT_COLUMN, PredictionTable, TRUE_PREFIX } from '../metrics/prediction-table.ts';
import { runPath } from './layout.ts';

/**
 * `predictions-oof.csv` and `predictions-test.csv` (and what `sliceseq predict` writes): one row per predicted row
 * (a patient, or at slice level a slice named by its own id, data/patients.ts `sliceId`): `id`, `patient` (slice
 * level), every score column, `label_<class>` 0/1 decisions where thresholds were applied, and the true target of
 * each target column as `true_<column>` when known. Scores are written with 6 significant digits.
 * This module writes that format and is the one that reads it back, to the one prediction table
 * (metrics/prediction-table.ts `PredictionTable`; that type lives in the metrics layer so that evaluation, below
 * this layer, can produce it).
 */
export type PredictionSplit = 'validation' | 'test';

const fileKey = { validation: 'predictionsValidation', test: 'predictionsTest' } as const;

export function predictionsPath(runDir: string, split: PredictionSplit): string {
  return runPath(runDir, fileKey[split]);
}

export function formatPredictions(table: PredictionTable): string {
  const { ids, patients, columns, scores, decisions, truth } = table;
  const truthColumns = truth?.columns ?? [];
  const labelClasses = decisions?.classes ?? [];
  const rows: Array<Array<string | number>> = [
    ['id', ...(patients ? [PATIENT_COLUMN] : []), ...columns, ...labelClasses.map((c) => `${LABEL_PREFIX}${c}`), ...truthColumns.map((c) => `${TRUE_PREFIX}${c}`)],
  ];
  ids.forEach((id, r) => {
    const row: Array<string | number> = [id];
    if (patients) row.push(patients[r]);
    for (let c = 0; c < columns.length; c++) row.push(Number(scores.data[r * columns.length + c].toPrecision(6)));
    for (let c = 0; c < labelClasses.length; c++) row.push(decisions!.values.data[r * labelClasses.length + c]);
    for (let c = 0; c < truthColumns.length; c++) row.push(truth!.values.data[r * truthColumns.length + c]);
    rows.push(row);
  });
  return formatCsv(rows);
}

/** Writes a predictions file anywhere (`sliceseq predict --out`), atomically. */
export function writePredictionsFile(file: string, table: PredictionTable): void {
  writeFileAtomic(file, formatPredictions(table));
}

export function writePredictions(runDir: string, split: PredictionSplit, table: PredictionTable): void {
  writePredictionsFile(predictionsPath(runDir, split), table);
}

function numberCell(text: string | undefined, file: string, line: number, column: string): number {
  const value = text === undefined || text.trim() === '' ? Number.NaN : Number(text);
  if (!Number.isFinite(value)) throw new Error(`${at(file, line, column)}: '${text ?? ''}' is not a number`);
  return value;
}

/**
 * A run's predictions of the binary classes `classes` (thresholds.json's): their scores, 0/1 targets (required:
 * a missing true_ column is an error naming the file) and decisions, by row id.
 */
export async function readRunPredictions(runDir: string, split: PredictionSplit, classes: readonly string[]): Promise<PredictionTable> {
  const table = (await readPredictionsFile(predictionsPath(runDir, split))).binary(classes);
  table.targets();
  return table;
}

/** Reads a whole predictions file back (every score column, decisions and targets), checking each cell. */
export async function readPredictionsFile(file: string): Promise<PredictionTable> {
  const table = await readCsv(file);
  requireColumns(table, ['id']);
  const columns = table.header.filter((name) => name !== 'id' && name !== PATIENT_COLUMN && !name.startsWith(LABEL_PREFIX) && !name.startsWith(TRUE_PREFIX));
  const labelColumns = table.header.filter((name) => name.startsWith(LABEL_PREFIX));
  const truthColumns = table.header.filter((name) => name.startsWith(TRUE_PREFIX));
  if (columns.length === 0) throw new Error(`${file}: no score columns (its header is '${table.header.join(',')}')`);
  const read = (names: readonly string[]) => {
    const out = new Float64Array(table.rows.length * names.length);
    table.rows.forEach(({ line, cells }, r) => names.forEach((name, c) => (out[r * names.length + c] = numberCell(cells[name], file, line, name))));
    return matrix(out, table.rows.length, names.length);
  };
  return new PredictionTable({
    source: file,
    ids: table.rows.map((row) => row.cells.id),
    ...(table.header.includes(PATIENT_COLUMN) ? { patients: table.rows.map((row) => row.cells[PATIENT_COLUMN]) } : {}),
    lines: table.rows.map((row) => row.line),
    columns,
    scores: read(columns),
    ...(labelColumns.length > 0 ? { decisions: { classes: labelColumns.map((name) => name.slice(LABEL_PREFIX.length)), values: read(labelColumns) } } : {}),
    ...(truthColumns.length > 0 ? { truth: { columns: truthColumns.map((name) => name.slice(TRUE_PREFIX.length)), values: read(truthColumns) } } : {}),
  });
}
