import { at, type CsvRow, type CsvTable } from '../../data/datasets/csv.ts';
import { listSome } from '../policy.ts';
import { LABEL_PREFIX, PATIENT_COLUMN, TRUE_PREFIX } from '../prediction-table.ts';

/**
 * Reads a submission or a solution in any of the three Kaggle layouts, or a sliceseq predictions file, told
 * apart by the header:
 * - long: `ID,Label`, one row per (id, class) with key `ID_<id>_<class>` (RSNA);
 * - tags: `<id>,Predicted` (or Expected / tags / labels), space-separated class names (Planet Amazon);
 * - wide: an id column, then one numeric column per class;
 * - sliceseq: `id`, an optional `patient` column, score columns, and `true_<column>` targets (a run's
 *   predictions-*.csv, `sliceseq predict`): as a submission its score columns count (those the solution does
 *   not score are ignored), as a solution its `true_` columns.
 * A solution may add a `Usage` column (Public / Private / Ignored). Problems inside one file (duplicate ids,
 * values that are not numbers or not in [0, 1], unexpected columns) are rejected here, naming file and line.
 */
export type SubmissionFormat = 'long' | 'wide' | 'tags';
export type TableFormat = SubmissionFormat | 'sliceseq';
export type TableRole = 'submission' | 'solution';

/** A parsed file: values row-major [ids.length, classes.length]; NaN marks a (long-format) cell never given. */
export interface SubmissionTable {
  file: string;
  format: TableFormat;
  ids: string[];
  classes: string[];
  values: Float64Array;
  /** The line each id was (first) read from. */
  lines: number[];
  /** Per id, from a solution's Usage column. */
  usage?: string[];
  /** How this file names one cell, for messages in the file's own terms (`ID_12_any`, `12`). */
  keyOf(id: string, className: string): string;
}

export const USAGE_COLUMN = 'Usage';
const TAG_COLUMNS = ['predicted', 'expected', 'tags', 'labels'];
const LONG_PREFIX = 'ID_';


export function detectFormat(header: readonly string[], file: string): TableFormat {
  const columns = header.filter((name) => name !== USAGE_COLUMN);
  const lower = columns.map((name) => name.toLowerCase());
  // A first line of values (a number among the column names) is a data row: the header is missing.
  if (columns.slice(1).some((name) => name.trim() !== '' && Number.isFinite(Number(name)))) {
    throw new Error(
      `${file}: the first line '${header.join(',')}' is a data row, not a header; a Kaggle RSNA submission starts with the line ID,Label ` +
        '(long), a tags one with <id>,Predicted, a wide one with <id>,<class>,<class>…',
    );
  }
  if (columns[0] === 'id' && columns.some((name) => name === PATIENT_COLUMN || name.startsWith(TRUE_PREFIX))) return 'sliceseq';
  if (lower.length === 2 && lower[0] === 'id' && lower[1] === 'label') return 'long';
  if (lower.length === 2 && TAG_COLUMNS.includes(lower[1])) return 'tags';
  if (columns.length >= 2) return 'wide';
  throw new Error(
    `${file}: cannot tell the format from the header '${header.join(',')}': expected ID,Label (long), ` +
      `<id>,Predicted (tags) or <id>,<class>,<class>… (wide)`,
  );
}

function checkUsageColumn(csv: CsvTable, role: TableRole): boolean {
  const has = csv.header.includes(USAGE_COLUMN);
  if (has && role === 'submission') throw new Error(`${csv.file}: wrong columns: unexpected '${USAGE_COLUMN}' (only a solution has it)`);
  return has;
}

/** Parses one cell value: a probability for a submission, 0 or 1 for a solution. */
function parseValue(text: string, role: TableRole, where: string, what: string): number {
  const value = text === '' ? Number.NaN : Number(text);
  if (!Number.isFinite(value)) throw new Error(`${where}: non-numeric value '${text}' for ${what}`);
  if (role === 'solution' && value !== 0 && value !== 1) throw new Error(`${where}: solution label ${text} for ${what} is not 0 or 1`);
  if (value < 0 || value > 1) throw new Error(`${where}: out-of-range value ${text} for ${what} (expected a probability in [0, 1])`);
  return value;
}

/** Ids in order of first appearance, rejecting a second row for the same key. */
class IdIndex {
  readonly ids: string[] = [];
  readonly lines: number[] = [];
  private readonly index = new Map<string, number>();
  private readonly keyLines = new Map<string, number>();

  constructor(private readonly file: string) {}

  /** Registers `key` (the file's own key) for `id`; returns the id's row. */
  add(id: string, key: string, line: number): number {
    const first = this.keyLines.get(key);
    if (first !== undefined) throw new Error(`${at(this.file, line)}: duplicate id '${key}' (first on line ${first})`);
    this.keyLines.set(key, line);
    let row = this.index.get(id);
    if (row === undefined) {
      row = this.ids.length;
      this.index.set(id, row);
      this.ids.push(id);
      this.lines.push(line);
    }
    return row;
  }
}

/** A solution's Usage per id; every row of one id must agree. */
class UsageColumn {
  readonly values: string[] = [];

  constructor(private readonly file: string) {}

  set(row: number, cells: CsvRow, id: string): void {
    const usage = cells.cells[USAGE_COLUMN];
    const known = ['public', 'private', 'ignored'];
    if (!known.includes(usage.toLowerCase())) {
      throw new Error(`${at(this.file, cells.line, USAGE_COLUMN)}: '${usage}' is not Public, Private or Ignored`);
    }
    const previous = this.values[row];
    if (previous !== undefined && previous.toLowerCase() !== usage.toLowerCase()) {
      throw new Error(`${at(this.file, cells.line, USAGE_COLUMN)}: id '${id}' is '${usage}' here but '${previous}' on an earlier row`);
    }
    this.values[row] = usage;
  }
}

/** One row per id, one number per column: the cells of `columns` become the values of `classes`. */
function readNumeric(csv: CsvTable, role: TableRole, hasUsage: boolean, format: 'wide' | 'sliceseq', columns: readonly string[], classes: string[]): SubmissionTable {
  const idColumn = csv.header[0];
  const ids = new IdIndex(csv.file);
  const usage = new UsageColumn(csv.file);
  const rows: number[][] = [];
  for (const row of csv.rows) {
    const id = row.cells[idColumn];
    if (id === '') throw new Error(`${at(csv.file, row.line, idColumn)}: empty id`);
    const r = ids.add(id, id, row.line);
    rows[r] = columns.map((name) => parseValue(row.cells[name], role, at(csv.file, row.line, name), `id '${id}'`));
    if (hasUsage) usage.set(r, row, id);
  }
  return {
    file: csv.file,
    format,
    ids: ids.ids,
    classes,
    values: Float64Array.from(rows.flat()),
    lines: ids.lines,
    ...(hasUsage ? { usage: usage.values } : {}),
    keyOf: (id) => id,
  };
}

function readWide(csv: CsvTable, role: TableRole, hasUsage: boolean): SubmissionTable {
  const classes = csv.header.slice(1).filter((name) => name !== USAGE_COLUMN);
  return readNumeric(csv, role, hasUsage, 'wide', classes, classes);
}

/** A sliceseq predictions file: score columns as a submission (not `label_` decisions), `true_` columns as a solution. */
function readSliceseq(csv: CsvTable, role: TableRole, hasUsage: boolean, classesHint?: readonly string[]): SubmissionTable {
  const truth = classesHint && role === 'solution' ? classesHint.map((name) => `${TRUE_PREFIX}${name}`) : csv.header.filter((name) => name.startsWith(TRUE_PREFIX));
  const absent = truth.filter((name) => !csv.header.includes(name));
  if (absent.length > 0) throw new Error(`${csv.file}: wrong columns: missing ${absent.map((name) => `'${name}'`).join(', ')}`);
  if (role === 'solution' && truth.length === 0) {
    throw new Error(`${csv.file}: a predictions file without ${TRUE_PREFIX}<class> columns holds no labels to score against`);
  }
  const scoreColumns = csv.header.filter(
    (name) => name !== 'id' && name !== PATIENT_COLUMN && name !== USAGE_COLUMN && !name.startsWith(TRUE_PREFIX) && !name.startsWith(LABEL_PREFIX),
  );
  return role === 'solution'
    ? readNumeric(csv, role, hasUsage, 'sliceseq', truth, truth.map((name) => name.slice(TRUE_PREFIX.length)))
    : readNumeric(csv, role, hasUsage, 'sliceseq', scoreColumns, scoreColumns);
}

function readTags(csv: CsvTable, hasUsage: boolean): SubmissionTable {
  const [idColumn, tagColumn] = csv.header.filter((name) => name !== USAGE_COLUMN);
  const ids = new IdIndex(csv.file);
  const usage = new UsageColumn(csv.file);
  const classes: string[] = [];
  const tagsOfRow: Set<string>[] = [];
  for (const row of csv.rows) {
    const id = row.cells[idColumn];
    if (id === '') throw new Error(`${at(csv.file, row.line, idColumn)}: empty id`);
    const r = ids.add(id, id, row.line);
    const tags = new Set(row.cells[tagColumn].split(/\s+/).filter((tag) => tag !== ''));
    for (const tag of tags) if (!classes.includes(tag)) classes.push(tag);
    tagsOfRow[r] = tags;
    if (hasUsage) usage.set(r, row, id);
  }
  const values = new Float64Array(ids.ids.length * classes.length);
  tagsOfRow.forEach((tags, r) => classes.forEach((name, j) => (values[r * classes.length + j] = tags.has(name) ? 1 : 0)));
  return {
    file: csv.file,
    format: 'tags',
    ids: ids.ids,
    classes,
    values,
    lines: ids.lines,
    ...(hasUsage ? { usage: usage.values } : {}),
    keyOf: (id) => id,
  };
}

/**
 * Splits `ID_<id>_<class>`: with known classes, at the longest matching class suffix (ids and class names
 * may both contain `_`); otherwise at the last `_`.
 */
export function splitLongKey(key: string, classes?: readonly string[]): { id: string; className: string } | null {
  const body = key.startsWith(LONG_PREFIX) ? key.slice(LONG_PREFIX.length) : key;
  if (classes) {
    const match = classes
      .filter((name) => body.length > name.length + 1 && body.endsWith(`_${name}`))
      .sort((a, b) => b.length - a.length)[0];
    if (match) return { id: body.slice(0, body.length - match.length - 1), className: match };
  }
  const cut = body.lastIndexOf('_');
  return cut > 0 && cut < body.length - 1 ? { id: body.slice(0, cut), className: body.slice(cut + 1) } : null;
}

/**
 * The class names of long-format keys when nobody said what they are. Every class is a suffix shared by all
 * ids (a complete grid), while a suffix reaching into the id is shared by few: each key takes its longest
 * suffix among those shared most. So `ID_p_001_liver_low` gives `liver_low`, not `low` nor `001_liver_low`.
 * Ids that all end in the same `_part` are ambiguous; pass the classes explicitly then.
 */
export function inferLongClasses(keys: readonly string[]): string[] {
  const suffixesOf = (key: string) => {
    const body = key.startsWith(LONG_PREFIX) ? key.slice(LONG_PREFIX.length) : key;
    const suffixes: string[] = [];
    for (let cut = body.indexOf('_'); cut > 0; cut = body.indexOf('_', cut + 1)) if (cut < body.length - 1) suffixes.push(body.slice(cut + 1));
    return suffixes;
  };
  const counts = new Map<string, number>();
  for (const key of keys) for (const suffix of suffixesOf(key)) counts.set(suffix, (counts.get(suffix) ?? 0) + 1);
  const classes = new Set<string>();
  for (const key of keys) {
    const suffixes = suffixesOf(key);
    const most = Math.max(0, ...suffixes.map((suffix) => counts.get(suffix)!));
    const longest = suffixes.find((suffix) => counts.get(suffix) === most);
    if (longest !== undefined) classes.add(longest);
  }
  return [...classes];
}

function readLong(csv: CsvTable, role: TableRole, hasUsage: boolean, classesHint?: readonly string[]): SubmissionTable {
  const [keyColumn, valueColumn] = csv.header.filter((name) => name !== USAGE_COLUMN);
  const knownClasses = classesHint ?? inferLongClasses(csv.rows.map((row) => row.cells[keyColumn]));
  const ids = new IdIndex(csv.file);
  const usage = new UsageColumn(csv.file);
  const classes: string[] = [];
  const cells: Array<{ row: number; className: string; value: number }> = [];
  for (const row of csv.rows) {
    const key = row.cells[keyColumn];
    const parts = splitLongKey(key, knownClasses);
    if (!parts) throw new Error(`${at(csv.file, row.line, keyColumn)}: '${key}' is not of the form ID_<id>_<class>`);
    const r = ids.add(parts.id, key, row.line);
    if (!classes.includes(parts.className)) classes.push(parts.className);
    cells.push({ row: r, className: parts.className, value: parseValue(row.cells[valueColumn], role, at(csv.file, row.line, valueColumn), `'${key}'`) });
    if (hasUsage) usage.set(r, row, parts.id);
  }
  const values = new Float64Array(ids.ids.length * classes.length).fill(Number.NaN);
  for (const cell of cells) values[cell.row * classes.length + classes.indexOf(cell.className)] = cell.value;
  if (role === 'solution') {
    const missing = [...values.keys()].filter((i) => Number.isNaN(values[i]));
    if (missing.length > 0) {
      const name = (i: number) => `${LONG_PREFIX}${ids.ids[Math.floor(i / classes.length)]}_${classes[i % classes.length]}`;
      throw new Error(`${csv.file}: the solution lacks ${missing.length} (id, class) row(s): ${listSome(missing.map(name))}`);
    }
  }
  return {
    file: csv.file,
    format: 'long',
    ids: ids.ids,
    classes,
    values,
    lines: ids.lines,
    ...(hasUsage ? { usage: usage.values } : {}),
    keyOf: (id, className) => `${LONG_PREFIX}${id}_${className}`,
  };
}

/**
 * Reads a parsed CSV as a prediction table. `classes` (the solution's, or given by the user) says where
 * long-format keys split; without it they are inferred (`inferLongClasses`).
 */
export function readSubmissionTable(csv: CsvTable, role: TableRole, classes?: readonly string[]): SubmissionTable {
  const format = detectFormat(csv.header, csv.file);
  const hasUsage = checkUsageColumn(csv, role);
  if (csv.rows.length === 0) throw new Error(`${csv.file}: no rows after the header`);
  switch (format) {
    case 'wide':
      return readWide(csv, role, hasUsage);
    case 'tags':
      return readTags(csv, hasUsage);
    case 'long':
      return readLong(csv, role, hasUsage, classes);
    case 'sliceseq':
      return readSliceseq(csv, role, hasUsage, classes);
  }
}
