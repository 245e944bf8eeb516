import { decodedColumns, decodeLogits } from '../labels/decode.ts';
import { binaryClassNames, targetColumns, totalTargetWidth, type LabelSchema } from '../labels/schema.ts';
import { binarize, matrix, selectColumns, type LabelMatrix, type Matrix, type ScoreMatrix } from './matrix.ts';

/** How a predictions file (runs/predictions.ts) names a table's target columns: `true_<column>`. */
export const TRUE_PREFIX = 'true_';
/** How it names the 0/1 decisions at applied thresholds: `label_<class>`. */
export const LABEL_PREFIX = 'label_';
/** The column of each slice-level row's patient. */
export const PATIENT_COLUMN = 'patient';

export interface PredictionTableInit {
  ids: readonly string[];
  /** Slice level: each row's patient (what a bootstrap resamples by). */
  patients?: readonly string[];
  /** Score columns: decoded probabilities (labels/decode.ts `decodedColumns`), or a selection of them. */
  columns: readonly string[];
  scores: ScoreMatrix;
  /** True targets of some score columns (the target layout, labels/schema.ts `targetColumns`), where known. */
  truth?: { columns: readonly string[]; values: LabelMatrix };
  /** 0/1 decisions of the binary classes at applied thresholds (a file's `label_<class>` columns). */
  decisions?: { classes: readonly string[]; values: LabelMatrix };
  /** The label schema, when the table came from a model (files do not record it). */
  schema?: LabelSchema;
  /** Where the rows came from (a file, a run, an ensemble member), for messages. */
  source?: string;
  /** Read from a file: each row's line in it (for messages). */
  lines?: readonly number[];
  /** The criterion's mean over these rows, when the predictions were made with one. */
  loss?: number;
}

/** The rows of a model's output over a split, before decoding: `logits` [rows, totalOutputWidth], `targets` [rows, totalTargetWidth]. */
export interface LogitRows {
  ids: readonly string[];
  patients?: readonly string[];
  logits: Float32Array;
  targets?: Float32Array;
  loss?: number;
}

/** `a, b, c, … (12)`: the first few of a list. */
function firstFew(names: readonly string[]): string {
  return `${names.slice(0, 5).join(', ')}${names.length > 5 ? `, … (${names.length})` : ''}`;
}

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((name, i) => name === b[i]);

/** The rows `order` of `m` (repeats allowed), as a new matrix of the same array type. */
function pickRows<T extends Matrix>(m: T, order: readonly number[]): T {
  const { cols } = m;
  const data = new (m.data.constructor as new (length: number) => T['data'])(order.length * cols);
  order.forEach((row, r) => data.set(m.data.subarray(row * cols, (row + 1) * cols), r * cols));
  return matrix(data, order.length, cols) as T;
}

/** The columns `names` of a named matrix that has them all, in that order. */
function pickColumns<T extends Matrix>(part: { columns: readonly string[]; values: T }, names: readonly string[]): { columns: string[]; values: T } {
  return { columns: [...names], values: selectColumns(part.values, names.map((name) => part.columns.indexOf(name))) as T };
}

/**
 * The one type of prediction rows: what a model's logits become once (`fromLogits`), what evaluation,
 * thresholds, cross-validation, ensembles, ablation summaries, reports and submissions read, and what a run's
 * predictions-*.csv holds (src/runs/predictions.ts writes and reads that file).
 *
 * One row per predicted row (a patient, or at slice level a slice named by its own id with its patient beside it).
 * Values are row-major matrices, `[rows, columns]`: every metric (metrics/matrix.ts), the bootstrap's row
 * resampling, the decoder's output and the CSV's lines are row-major, so a table hands its scores to a metric
 * without a copy; only the report's per-class curves read columns, and those copy one column each. Scores from a
 * model are Float32 (the decoded probabilities); scores read back from a file keep the Float64 that the numbers
 * parse to, so pooled and averaged files score exactly as before.
 */
export class PredictionTable {
  readonly ids: readonly string[];
  readonly patients?: readonly string[];
  readonly columns: readonly string[];
  readonly scores: ScoreMatrix;
  readonly truth?: { columns: readonly string[]; values: LabelMatrix };
  readonly decisions?: { classes: readonly string[]; values: LabelMatrix };
  readonly schema?: LabelSchema;
  readonly source?: string;
  readonly lines?: readonly number[];
  readonly loss?: number;

  constructor(init: PredictionTableInit) {
    const rows = init.ids.length;
    const where = init.source ?? 'predictions';
    const check = (what: string, m: Matrix, cols: number) => {
      if (m.rows !== rows || m.cols !== cols) throw new Error(`${where}: ${what} are [${m.rows}, ${m.cols}], expected [${rows}, ${cols}] (rows × columns)`);
    };
    check('scores', init.scores, init.columns.length);
    if (init.truth) check('targets', init.truth.values, init.truth.columns.length);
    if (init.decisions) check('decisions', init.decisions.values, init.decisions.classes.length);
    if (init.patients && init.patients.length !== rows) throw new Error(`${where}: ${init.patients.length} patients for ${rows} rows`);
    if (init.lines && init.lines.length !== rows) throw new Error(`${where}: ${init.lines.length} line numbers for ${rows} rows`);
    this.ids = init.ids;
    this.columns = init.columns;
    this.scores = init.scores;
    if (init.patients) this.patients = init.patients;
    if (init.truth) this.truth = init.truth;
    if (init.decisions) this.decisions = init.decisions;
    if (init.schema) this.schema = init.schema;
    if (init.source !== undefined) this.source = init.source;
    if (init.lines) this.lines = init.lines;
    if (init.loss !== undefined) this.loss = init.loss;
  }

  /**
   * Logits become a table here, once: every decoded column (labels/decode.ts) as scores, the targets (when
   * known) as the truth of the target columns, the schema kept so that `binary()` knows its classes.
   */
  static fromLogits(schema: LabelSchema, rows: LogitRows): PredictionTable {
    const columns = decodedColumns(schema);
    const n = rows.ids.length;
    const targetWidth = totalTargetWidth(schema);
    return new PredictionTable({
      ids: rows.ids,
      ...(rows.patients ? { patients: rows.patients } : {}),
      columns,
      scores: matrix(decodeLogits(schema, rows.logits), n, columns.length),
      ...(rows.targets && targetWidth > 0 ? { truth: { columns: targetColumns(schema), values: matrix(rows.targets, n, targetWidth) } } : {}),
      schema,
      ...(rows.loss !== undefined ? { loss: rows.loss } : {}),
    });
  }

  /** The same rows with some fields replaced. */
  with(changes: Partial<PredictionTableInit>): PredictionTable {
    return new PredictionTable({ ...this.init(), ...changes });
  }

  private init(): PredictionTableInit {
    const { ids, patients, columns, scores, truth, decisions, schema, source, lines, loss } = this;
    return { ids, columns, scores, ...(patients ? { patients } : {}), ...(truth ? { truth } : {}), ...(decisions ? { decisions } : {}), ...(schema ? { schema } : {}), ...(source !== undefined ? { source } : {}), ...(lines ? { lines } : {}), ...(loss !== undefined ? { loss } : {}) };
  }

  /** The table's source, for messages. */
  private get where(): string {
    return this.source ?? 'predictions';
  }

  get rows(): number {
    return this.ids.length;
  }

  /** Each row's patient: the patient column at slice level, else the row ids (patients). What bootstraps resample by. */
  rowPatients(): readonly string[] {
    return this.patients ?? this.ids;
  }

  /**
   * The score columns `columns`, in that order, with the truth and decisions of those of them that have one; a
   * column the table lacks is an error naming it and the table's source.
   */
  select(columns: readonly string[]): PredictionTable {
    const missing = columns.filter((name) => !this.columns.includes(name));
    if (missing.length > 0) throw new Error(`${this.where}: no score column for ${missing.join(', ')} (it has ${firstFew(this.columns)})`);
    const truthColumns = this.truth ? columns.filter((name) => this.truth!.columns.includes(name)) : [];
    const decided = this.decisions ? columns.filter((name) => this.decisions!.classes.includes(name)) : [];
    const { truth: _truth, decisions: _decisions, ...rest } = this.init();
    const decisions = this.decisions;
    return new PredictionTable({
      ...rest,
      columns: [...columns],
      scores: selectColumns(this.scores, columns.map((name) => this.columns.indexOf(name))),
      ...(truthColumns.length > 0 ? { truth: pickColumns(this.truth!, truthColumns) } : {}),
      ...(decisions && decided.length > 0 ? { decisions: { classes: decided, values: selectColumns(decisions.values, decided.map((name) => decisions.classes.indexOf(name))) } } : {}),
    });
  }

  /** The true targets of every score column, in column order; a column without one is an error naming it and the source. */
  targets(): LabelMatrix {
    const truth = this.truth;
    if (truth && sameList(truth.columns, this.columns)) return truth.values;
    const missing = this.columns.filter((name) => !truth?.columns.includes(name));
    if (missing.length > 0) throw new Error(`${this.where}: no ${TRUE_PREFIX} column for ${missing.join(', ')} (targets are needed to score them)`);
    return pickColumns(truth!, this.columns).values;
  }

  /** The scores and the targets of every score column (what a metric reads). */
  scoresAndTargets(): { scores: ScoreMatrix; targets: LabelMatrix } {
    return { scores: this.scores, targets: this.targets() };
  }

  /**
   * The binary classes' scores (those of the schema when the table came from a model, else `classes`), their
   * targets checked to be 0 or 1 (a cell that is not is an error naming its line, or row) and their decisions.
   */
  binary(classes?: readonly string[]): PredictionTable {
    const names = classes ?? (this.schema ? binaryClassNames(this.schema) : undefined);
    if (!names) throw new Error(`${this.where}: which columns are binary classes is not recorded here; name them (thresholds.json's classes)`);
    if (names.length === 0) throw new Error(`${this.where}: the label schema has no binary labels`);
    const selected = this.select(names);
    const truth = selected.truth;
    if (!truth) return selected;
    const { data, cols } = truth.values;
    const bad = data.findIndex((value) => value !== 0 && value !== 1);
    if (bad >= 0) {
      const row = Math.floor(bad / cols);
      const column = `${TRUE_PREFIX}${truth.columns[bad % cols]}`;
      const where = this.lines && this.source ? `${this.source} line ${this.lines[row]}, column '${column}'` : `${this.where}: row '${this.ids[row]}', column '${column}'`;
      throw new Error(`${where}: target ${data[bad]} is not 0 or 1`);
    }
    return selected.with({ truth: { columns: truth.columns, values: matrix(Uint8Array.from(data), truth.values.rows, cols) } });
  }

  /**
   * The rows reordered to `ids`: the same rows in another table's order (a variant against the reference, a fold
   * against the first fold). Missing, extra or repeated ids are an error naming the first few of each.
   */
  alignTo(ids: readonly string[], other = 'the reference'): PredictionTable {
    const rowOf = new Map(this.ids.map((id, r) => [id, r]));
    const wanted = new Set(ids);
    const missing = ids.filter((id) => !rowOf.has(id));
    const extra = this.ids.filter((id) => !wanted.has(id));
    const repeated = rowOf.size !== this.ids.length || wanted.size !== ids.length;
    if (missing.length > 0 || extra.length > 0 || repeated) {
      const parts = [missing.length > 0 ? `missing ${firstFew(missing)}` : '', extra.length > 0 ? `extra ${firstFew(extra)}` : '', repeated ? 'repeated ids' : ''].filter(Boolean);
      throw new Error(`${this.where}: its rows differ from ${other}'s (${this.ids.length} vs ${ids.length} rows; ${parts.join('; ')}): were they predicted on different data?`);
    }
    if (sameList(ids, this.ids)) return this;
    return this.pick(ids.map((id) => rowOf.get(id)!));
  }

  /** The rows at `order` (repeats allowed), every column, target, decision, patient and line following its row. */
  private pick(order: readonly number[]): PredictionTable {
    const { truth, decisions, patients, lines } = this;
    return this.with({
      ids: order.map((row) => this.ids[row]),
      scores: pickRows(this.scores, order),
      ...(patients ? { patients: order.map((row) => patients[row]) } : {}),
      ...(lines ? { lines: order.map((row) => lines[row]) } : {}),
      ...(truth ? { truth: { columns: truth.columns, values: pickRows(truth.values, order) } } : {}),
      ...(decisions ? { decisions: { classes: decisions.classes, values: pickRows(decisions.values, order) } } : {}),
    });
  }

  /**
   * The table with the binary classes' 0/1 decisions at `thresholds` (one per class, in the classes' order, which
   * must be this table's binary classes).
   */
  withDecisions(set: { classes: readonly string[]; thresholds: readonly number[] }): PredictionTable {
    const binary = this.binary(this.schema ? undefined : set.classes);
    if (!sameList(binary.columns, set.classes)) {
      throw new Error(`thresholds were fitted for classes [${set.classes.join(', ')}] but the predictions have [${binary.columns.join(', ')}]`);
    }
    return this.with({ decisions: { classes: binary.columns, values: binarize(binary.scores, set.thresholds) } });
  }

  /**
   * Rows predicted several times (each view of test-time augmentation) as one row each, the mean of its
   * predictions, in first-seen order; an id seen other than `times` times is an error naming it.
   */
  meanOfRepeats(times: number): PredictionTable {
    const firstRow = new Map<string, number>();
    const counts = new Map<string, number>();
    this.ids.forEach((id, r) => {
      if (!firstRow.has(id)) firstRow.set(id, r);
      counts.set(id, (counts.get(id) ?? 0) + 1);
    });
    for (const [id, count] of counts) {
      if (count !== times) throw new Error(`${this.where}: row '${id}' was predicted ${count} times, expected ${times}`);
    }
    if (times === 1) return this;
    const unique = this.pick([...firstRow.values()]);
    const width = this.columns.length;
    const rowOf = new Map(unique.ids.map((id, r) => [id, r]));
    const sums = new Float64Array(unique.rows * width);
    this.ids.forEach((id, r) => {
      const row = rowOf.get(id)!;
      for (let c = 0; c < width; c++) sums[row * width + c] += this.scores.data[r * width + c];
    });
    return unique.with({ scores: matrix(sums.map((sum) => sum / times), unique.rows, width) });
  }

  /**
   * The weighted mean of tables' scores row by row, each aligned to the first's rows (the same rows, predicted by
   * several models: fold models, ensemble members). Targets, patients and decisions are the first table's.
   */
  static mean(tables: readonly PredictionTable[], weights: readonly number[] = tables.map(() => 1), source?: string): PredictionTable {
    const [first] = tables;
    if (!first) throw new Error('PredictionTable.mean: no tables');
    const sums = new Float64Array(first.rows * first.columns.length);
    let total = 0;
    tables.forEach((table, t) => {
      if (!sameList(table.columns, first.columns)) throw new Error(`${table.where}: its columns differ from ${first.source ?? 'the first table'}'s`);
      const aligned = table.alignTo(first.ids, first.source ?? 'the first table');
      for (let i = 0; i < sums.length; i++) sums[i] += weights[t] * aligned.scores.data[i];
      total += weights[t];
    });
    const { decisions: _, loss: __, ...rest } = first.init();
    return new PredictionTable({ ...rest, ...(source !== undefined ? { source } : {}), scores: matrix(sums.map((sum) => sum / total), first.rows, first.columns.length) });
  }

  /**
   * Tables of different rows with the same columns, one after the other (e.g. the folds' validation rows); a
   * repeated id is an error naming both sources, and `why` when given (what a repeat means to the caller).
   */
  static concat(tables: readonly PredictionTable[], why?: string): PredictionTable {
    const [first] = tables;
    if (!first) throw new Error('PredictionTable.concat: no tables');
    const seen = new Map<string, string>();
    for (const table of tables) {
      const name = table.where;
      if (!sameList(table.columns, first.columns)) throw new Error(`${name}: its columns differ from ${first.source ?? 'the first table'}'s`);
      for (const id of table.ids) {
        if (seen.has(id)) throw new Error(`${name}: row '${id}' is also in ${seen.get(id)}${why ? `: ${why}` : ''}`);
        seen.set(id, name);
      }
    }
    const stack = <T extends Matrix>(parts: readonly T[]): T => {
      const cols = parts[0].cols;
      const data = new Float64Array(parts.reduce((sum, part) => sum + part.data.length, 0));
      let offset = 0;
      for (const part of parts) {
        data.set(part.data, offset);
        offset += part.data.length;
      }
      return matrix(data, data.length / cols, cols) as unknown as T;
    };
    const truth = first.truth && tables.every((t) => t.truth && sameList(t.truth.columns, first.truth!.columns)) ? { columns: first.truth.columns, values: stack(tables.map((t) => t.truth!.values)) } : undefined;
    return new PredictionTable({
      ids: tables.flatMap((t) => t.ids),
      ...(tables.every((t) => t.patients) ? { patients: tables.flatMap((t) => t.patients!) } : {}),
      columns: first.columns,
      scores: stack(tables.map((t) => t.scores)),
      ...(truth ? { truth } : {}),
      ...(first.schema ? { schema: first.schema } : {}),
      source: tables.map((t) => t.where).join(' + '),
    });
  }
}
