import { z } from 'zod';
import { writeJsonAtomic } from '../core/atomic.ts';
import { readJsonFile } from '../core/json.ts';
import { parseOrThrow } from '../core/validate.ts';
import { fbetaFromCounts, fbetaScore, type FbetaAverage } from './fbeta.ts';
import { binarize, checkBinaryProblem, type LabelMatrix, type Matrix, type ScoreMatrix } from './matrix.ts';
import { zeroDivisionSchema, zeroDivisionValue, type ZeroDivision } from './policy.ts';

/**
 * Decision thresholds tuned for F-beta on validation or out-of-fold predictions — never on test predictions —
 * then applied to test predictions and saved with the model. The search is exact: it sweeps every distinct
 * score of a class (or of all classes, for one global threshold), updating the F-beta incrementally, and puts
 * the threshold halfway between the last score kept positive and the next one.
 */
export const thresholdSourceSchema = z.enum(['validation', 'out-of-fold']);
export type ThresholdSource = z.output<typeof thresholdSourceSchema>;

export const thresholdSetSchema = z
  .object({
    kind: z.enum(['per-class', 'global']),
    classes: z.array(z.string()).min(1),
    thresholds: z.array(z.number()).min(1),
    objective: z
      .object({
        beta: z.number().min(0),
        average: z.enum(['samples', 'micro', 'macro', 'weighted']),
        zeroDivision: zeroDivisionSchema,
      })
      .strict(),
    fittedOn: z.object({ source: thresholdSourceSchema, rows: z.number().int().positive() }).strict(),
    /** The objective on the fitting predictions at 0.5 and at the tuned thresholds. */
    score: z.object({ untuned: z.number(), tuned: z.number() }).strict(),
  })
  .strict()
  .superRefine((set, ctx) => {
    if (set.thresholds.length !== set.classes.length) {
      ctx.addIssue({ code: 'custom', path: ['thresholds'], message: `${set.thresholds.length} thresholds for ${set.classes.length} classes` });
    }
  });
export type ThresholdSet = z.output<typeof thresholdSetSchema>;

export interface FitThresholdsOptions {
  /** Where the predictions come from; the type has no room for test predictions on purpose. */
  source: ThresholdSource;
  classes: readonly string[];
  /** One threshold per class (default) or one for all. */
  kind?: 'per-class' | 'global';
  beta?: number;
  /** The F-beta average to maximise; `samples` (the Kaggle mean F2) by default. */
  average?: FbetaAverage;
  zeroDivision?: ZeroDivision;
  /** Coordinate-ascent passes over the classes for the averages that couple classes (samples, micro). */
  rounds?: number;
}

const UNTUNED = 0.5;
const EPSILON = 1e-12;

/**
 * F-beta counts of the current hard predictions, kept per row, per class and in total so that flipping one
 * cell updates the objective in O(1).
 */
class FbetaSweep {
  readonly predicted: Uint8Array;
  private readonly row: { tp: Float64Array; fp: Float64Array; fn: Float64Array };
  private readonly cls: { tp: Float64Array; fp: Float64Array; fn: Float64Array };
  private total = { tp: 0, fp: 0, fn: 0 };
  private rowSum = 0;
  private classSum = 0;
  private weightedSum = 0;
  private readonly support: Float64Array;
  private readonly totalSupport: number;

  constructor(
    private readonly targets: LabelMatrix,
    private readonly beta2: number,
    private readonly zeroValue: number,
    private readonly average: FbetaAverage,
  ) {
    const { rows, cols, data } = targets;
    this.predicted = new Uint8Array(rows * cols);
    this.row = { tp: new Float64Array(rows), fp: new Float64Array(rows), fn: new Float64Array(rows) };
    this.cls = { tp: new Float64Array(cols), fp: new Float64Array(cols), fn: new Float64Array(cols) };
    for (let i = 0; i < data.length; i++) {
      if (data[i] !== 1) continue;
      this.row.fn[Math.floor(i / cols)]++;
      this.cls.fn[i % cols]++;
      this.total.fn++;
    }
    this.support = Float64Array.from(this.cls.fn);
    this.totalSupport = this.total.fn;
    for (let r = 0; r < rows; r++) this.rowSum += this.rowScore(r);
    for (let c = 0; c < cols; c++) {
      this.classSum += this.classScore(c);
      this.weightedSum += this.support[c] * this.classScore(c);
    }
  }

  private rowScore(r: number): number {
    return fbetaFromCounts(this.row.tp[r], this.row.fp[r], this.row.fn[r], this.beta2, this.zeroValue);
  }

  private classScore(c: number): number {
    return fbetaFromCounts(this.cls.tp[c], this.cls.fp[c], this.cls.fn[c], this.beta2, this.zeroValue);
  }

  set(r: number, c: number, value: 0 | 1): void {
    const i = r * this.targets.cols + c;
    if (this.predicted[i] === value) return;
    this.predicted[i] = value;
    const oldRow = this.rowScore(r);
    const oldClass = this.classScore(c);
    const step = value === 1 ? 1 : -1;
    const key = this.targets.data[i] === 1 ? 'tp' : 'fp';
    this.row[key][r] += step;
    this.cls[key][c] += step;
    this.total[key] += step;
    if (key === 'tp') {
      this.row.fn[r] -= step;
      this.cls.fn[c] -= step;
      this.total.fn -= step;
    }
    this.rowSum += this.rowScore(r) - oldRow;
    const classDelta = this.classScore(c) - oldClass;
    this.classSum += classDelta;
    this.weightedSum += this.support[c] * classDelta;
  }

  objective(): number {
    const { rows, cols } = this.targets;
    switch (this.average) {
      case 'samples':
        return this.rowSum / rows;
      case 'macro':
        return this.classSum / cols;
      case 'micro':
        return fbetaFromCounts(this.total.tp, this.total.fp, this.total.fn, this.beta2, this.zeroValue);
      case 'weighted':
        // scikit-learn's rule when no class has support.
        if (this.totalSupport === 0) return this.total.fp === 0 ? this.zeroValue : 0;
        return this.weightedSum / this.totalSupport;
    }
  }
}

/** Cells of the sweep, grouped by equal score, highest score first. */
interface ScoreGroups {
  cells: Int32Array;
  /** groupStart[g] is the first cell of group g; one extra entry closes the last group. */
  groupStart: number[];
  values: number[];
}

function groupByScore(cells: number[], scores: Matrix): ScoreGroups {
  cells.sort((a, b) => scores.data[b] - scores.data[a]);
  const groupStart: number[] = [];
  const values: number[] = [];
  cells.forEach((cell, k) => {
    if (k === 0 || scores.data[cell] !== scores.data[cells[k - 1]]) {
      groupStart.push(k);
      values.push(scores.data[cell]);
    }
  });
  groupStart.push(cells.length);
  return { cells: Int32Array.from(cells), groupStart, values };
}

/** The threshold keeping the first `cut` groups positive (`score >= threshold`) and the rest negative. */
function thresholdForCut(values: readonly number[], cut: number): number {
  if (values.length === 0) return UNTUNED;
  if (cut === 0) return values[0] < 1 ? (values[0] + 1) / 2 : values[0] + 1;
  if (cut === values.length) {
    const lowest = values[values.length - 1];
    return lowest > 0 ? lowest / 2 : lowest - 1;
  }
  const midpoint = (values[cut - 1] + values[cut]) / 2;
  // Adjacent doubles can round their midpoint onto the lower one; the kept score itself still separates them.
  return midpoint > values[cut] ? midpoint : values[cut - 1];
}

/**
 * Sweeps the cells of `groups` from positive-none to positive-all, returning the best threshold; ties in the
 * objective go to the threshold nearest `preferred`, so a flat optimum does not drift.
 */
function sweep(state: FbetaSweep, groups: ScoreGroups, cols: number, preferred: number): number {
  const flip = (g: number, value: 0 | 1) => {
    for (let k = groups.groupStart[g]; k < groups.groupStart[g + 1]; k++) {
      const cell = groups.cells[k];
      state.set(Math.floor(cell / cols), cell % cols, value);
    }
  };
  for (let g = 0; g < groups.values.length; g++) flip(g, 0);
  let bestCut = 0;
  let best = state.objective();
  for (let g = 0; g < groups.values.length; g++) {
    flip(g, 1);
    const value = state.objective();
    const nearer = Math.abs(thresholdForCut(groups.values, g + 1) - preferred) < Math.abs(thresholdForCut(groups.values, bestCut) - preferred);
    if (value > best + EPSILON || (value > best - EPSILON && nearer)) {
      best = value;
      bestCut = g + 1;
    }
  }
  for (let g = groups.values.length - 1; g >= bestCut; g--) flip(g, 0);
  return thresholdForCut(groups.values, bestCut);
}

function fitPerClass(scores: ScoreMatrix, state: FbetaSweep, average: FbetaAverage, rounds: number): number[] {
  const { rows, cols } = scores;
  const thresholds = new Array<number>(cols).fill(UNTUNED);
  const columnGroups = Array.from({ length: cols }, (_, c) => groupByScore(Array.from({ length: rows }, (_, r) => r * cols + c), scores));
  // Macro and weighted F-beta are sums of per-class terms: one pass finds each class's optimum exactly.
  const passes = average === 'macro' || average === 'weighted' ? 1 : rounds;
  for (let pass = 0; pass < passes; pass++) {
    let changed = false;
    for (let c = 0; c < cols; c++) {
      const tuned = sweep(state, columnGroups[c], cols, thresholds[c]);
      if (tuned !== thresholds[c]) changed = true;
      thresholds[c] = tuned;
    }
    if (!changed) break;
  }
  return thresholds;
}

function fitGlobal(scores: ScoreMatrix, state: FbetaSweep): number[] {
  const groups = groupByScore(Array.from({ length: scores.data.length }, (_, i) => i), scores);
  return new Array<number>(scores.cols).fill(sweep(state, groups, scores.cols, UNTUNED));
}

/** Fits thresholds maximising F-beta on validation or out-of-fold predictions. */
export function fitThresholds(scores: ScoreMatrix, targets: LabelMatrix, options: FitThresholdsOptions): ThresholdSet {
  const where = 'threshold search';
  checkBinaryProblem(scores, targets, where);
  if (targets.rows === 0) throw new Error(`${where}: no rows to fit on`);
  if (options.classes.length !== scores.cols) throw new Error(`${where}: ${options.classes.length} class names for ${scores.cols} columns`);
  parseOrThrow(thresholdSourceSchema, options.source, `${where} source`);
  const beta = options.beta ?? 2;
  const average = options.average ?? 'samples';
  const zeroDivision = options.zeroDivision ?? 'warn';
  const kind = options.kind ?? 'per-class';
  const rounds = options.rounds ?? 3;
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`${where}: rounds must be a positive integer, got ${rounds}`);

  const state = new FbetaSweep(targets, beta * beta, zeroDivisionValue(zeroDivision), average);
  const thresholds = kind === 'global' ? fitGlobal(scores, state) : fitPerClass(scores, state, average, rounds);
  const score = (t: number | number[]) => fbetaScore(scores, targets, average, { beta, threshold: t, zeroDivision });
  return {
    kind,
    classes: [...options.classes],
    thresholds,
    objective: { beta, average, zeroDivision },
    fittedOn: { source: options.source, rows: scores.rows },
    score: { untuned: score(UNTUNED), tuned: score(thresholds) },
  };
}

/**
 * Hard predictions at a saved threshold set. `classes` (the columns of `scores`) must be the set's classes in
 * the same order, so thresholds never land on the wrong class.
 */
export function applyThresholds(scores: ScoreMatrix, set: ThresholdSet, classes: readonly string[]): Matrix<Uint8Array> {
  if (classes.length !== set.classes.length || classes.some((name, j) => name !== set.classes[j])) {
    throw new Error(`thresholds were fitted for classes [${set.classes.join(', ')}] but the predictions have [${classes.join(', ')}]`);
  }
  return binarize(scores, set.thresholds);
}

export function saveThresholds(path: string, set: ThresholdSet): void {
  writeJsonAtomic(path, parseOrThrow(thresholdSetSchema, set, 'threshold set'));
}

export function loadThresholds(path: string): ThresholdSet {
  return readJsonFile(thresholdSetSchema, path);
}
