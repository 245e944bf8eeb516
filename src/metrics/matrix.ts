/**
 * The one data convention of every metric: a row-major matrix `{ data, rows, cols }`, one row per sample
 * (patient), one column per class. Predictions are probabilities (Float32Array or Float64Array); targets are
 * 0/1 (Uint8Array or Float32Array). Metrics read them, never change them.
 */
export type NumericArray = Float32Array | Float64Array | Uint8Array | Int32Array;

export interface Matrix<T extends NumericArray = NumericArray> {
  readonly data: T;
  readonly rows: number;
  readonly cols: number;
}

/** Probabilities (or any real scores), row-major [rows, cols]. */
export type ScoreMatrix = Matrix<Float32Array | Float64Array>;
/** 0/1 labels, row-major [rows, cols]. */
export type LabelMatrix = Matrix<Uint8Array | Float32Array | Float64Array>;

/** Where a metric reports a policy it had to apply (zero division, an undefined class …). */
export type Warn = (message: string) => void;

/** Wraps `data` as a [rows, cols] matrix, checking that the sizes agree. */
export function matrix<T extends NumericArray>(data: T, rows: number, cols: number): Matrix<T> {
  if (!Number.isInteger(rows) || rows < 0 || !Number.isInteger(cols) || cols < 1) {
    throw new Error(`matrix: rows must be an integer >= 0 and cols >= 1, got rows=${rows}, cols=${cols}`);
  }
  if (data.length !== rows * cols) {
    throw new Error(`matrix: data has ${data.length} values, expected rows*cols = ${rows}*${cols} = ${rows * cols}`);
  }
  return { data, rows, cols };
}

/** Builds a matrix from nested rows (tests, small inputs); every row must have the same length. */
export function fromRows<T extends NumericArray>(rows: ArrayLike<number>[], make: (length: number) => T): Matrix<T> {
  const cols = rows.length > 0 ? rows[0].length : 0;
  const data = make(rows.length * cols);
  rows.forEach((row, r) => {
    if (row.length !== cols) throw new Error(`fromRows: row ${r} has ${row.length} values, expected ${cols}`);
    for (let c = 0; c < cols; c++) data[r * cols + c] = row[c];
  });
  return matrix(data, rows.length, cols);
}

/** Fails unless predictions and targets have the same shape. */
export function checkSameShape(predictions: Matrix, targets: Matrix, where: string): void {
  if (predictions.rows !== targets.rows || predictions.cols !== targets.cols) {
    throw new Error(
      `${where}: predictions are [${predictions.rows}, ${predictions.cols}] but targets are [${targets.rows}, ${targets.cols}]`,
    );
  }
}

/** Fails naming the first target that is not 0 or 1. */
export function checkBinaryTargets(targets: Matrix, where: string): void {
  const { data, cols } = targets;
  for (let i = 0; i < data.length; i++) {
    if (data[i] !== 0 && data[i] !== 1) {
      throw new Error(`${where}: target at row ${Math.floor(i / cols)}, column ${i % cols} is ${data[i]}, expected 0 or 1`);
    }
  }
}

/** Fails naming the first prediction that is not a finite number. */
export function checkFinite(predictions: Matrix, where: string): void {
  const { data, cols } = predictions;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new Error(`${where}: prediction at row ${Math.floor(i / cols)}, column ${i % cols} is ${data[i]}`);
    }
  }
}

/** The checks every binary-label metric starts with. */
export function checkBinaryProblem(predictions: Matrix, targets: Matrix, where: string): void {
  checkSameShape(predictions, targets, where);
  checkFinite(predictions, where);
  checkBinaryTargets(targets, where);
}

/** One column as a Float64Array. */
export function column(m: Matrix, col: number): Float64Array {
  const out = new Float64Array(m.rows);
  for (let r = 0; r < m.rows; r++) out[r] = m.data[r * m.cols + col];
  return out;
}

/** A new matrix holding the given columns, in that order. */
export function selectColumns<T extends NumericArray>(m: Matrix<T>, columns: readonly number[]): Matrix<T> {
  const data = new (m.data.constructor as new (length: number) => T)(m.rows * columns.length);
  for (let r = 0; r < m.rows; r++) {
    for (let j = 0; j < columns.length; j++) data[r * columns.length + j] = m.data[r * m.cols + columns[j]];
  }
  return matrix(data, m.rows, columns.length);
}

/** A new matrix holding the given rows (repeats allowed: bootstrap resamples). */
export function selectRows<T extends NumericArray>(m: Matrix<T>, rows: ArrayLike<number>): Matrix<T> {
  const data = new (m.data.constructor as new (length: number) => T)(rows.length * m.cols);
  for (let i = 0; i < rows.length; i++) data.set(m.data.subarray(rows[i] * m.cols, (rows[i] + 1) * m.cols), i * m.cols);
  return matrix(data, rows.length, m.cols);
}

/** Concatenates matrices with the same column count, one after the other. */
export function concatRows<T extends NumericArray>(parts: readonly Matrix<T>[]): Matrix<T> {
  if (parts.length === 0) throw new Error('concatRows: nothing to concatenate');
  const cols = parts[0].cols;
  const rows = parts.reduce((sum, part) => {
    if (part.cols !== cols) throw new Error(`concatRows: a part has ${part.cols} columns, expected ${cols}`);
    return sum + part.rows;
  }, 0);
  const data = new (parts[0].data.constructor as new (length: number) => T)(rows * cols);
  let offset = 0;
  for (const part of parts) {
    data.set(part.data, offset);
    offset += part.data.length;
  }
  return matrix(data, rows, cols);
}

/**
 * Hard predictions: 1 where `score >= threshold`. `thresholds` is one number for every class or one per class.
 */
export function binarize(scores: Matrix, thresholds: number | ArrayLike<number>): Matrix<Uint8Array> {
  const { rows, cols, data } = scores;
  if (typeof thresholds !== 'number' && thresholds.length !== cols) {
    throw new Error(`binarize: ${thresholds.length} thresholds for ${cols} classes`);
  }
  const out = new Uint8Array(rows * cols);
  for (let i = 0; i < out.length; i++) {
    const t = typeof thresholds === 'number' ? thresholds : thresholds[i % cols];
    out[i] = data[i] >= t ? 1 : 0;
  }
  return matrix(out, rows, cols);
}

/** The mean of the defined (non-null) values, or null when none is defined. */
export function meanDefined(values: ReadonlyArray<number | null>): number | null {
  let sum = 0;
  let count = 0;
  for (const value of values) {
    if (value === null) continue;
    sum += value;
    count++;
  }
  return count > 0 ? sum / count : null;
}

export function sumOf(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i];
  return sum;
}
