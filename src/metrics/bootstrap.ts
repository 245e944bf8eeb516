import { quantileSeq, std } from 'mathjs';
import { Rng } from '../core/rng.ts';
import { checkSameShape, selectRows, type LabelMatrix, type ScoreMatrix, type Warn } from './matrix.ts';
import { warnToLog } from './policy.ts';

/**
 * Seeded bootstrap over patients: resample patients with replacement (all rows of a drawn patient come
 * along), score each resample, and read confidence intervals off the percentiles. The paired version scores
 * two models on the same resampled patients, so the spread of their difference excludes patient-mix noise.
 */

/** A scalar metric; null where undefined for a resample (it is then left out and counted). */
export type ScoreFunction = (predictions: ScoreMatrix, targets: LabelMatrix, warn: Warn) => number | null;

export interface BootstrapOptions {
  seed: number;
  /** Resamples (1000 by default). */
  resamples?: number;
  /** Two-sided interval level (0.95 by default). */
  confidence?: number;
  /** The patient of each row; each row is its own patient without it. */
  patients?: ArrayLike<string | number>;
  warn?: Warn;
}

export interface BootstrapInterval {
  /** The metric on the data as given. */
  estimate: number | null;
  lower: number | null;
  upper: number | null;
  /** Standard deviation of the resampled values (the bootstrap standard error). */
  std: number | null;
  confidence: number;
  resamples: number;
  /** Resamples where the metric was undefined (left out of the interval). */
  undefinedResamples: number;
  patients: number;
  seed: number;
}

export interface PairedBootstrapResult extends BootstrapInterval {
  /** The two models' own values on the data as given; `estimate` is a − b. */
  a: number | null;
  b: number | null;
  /** Two-sided bootstrap p-value for "no difference": 2·min(P(d ≤ 0), P(d ≥ 0)), with the +1 correction. */
  pValue: number | null;
}

interface Plan {
  rowsOfPatient: number[][];
  resamples: number;
  confidence: number;
  rng: Rng;
}

function plan(rows: number, options: BootstrapOptions, where: string): Plan {
  const resamples = options.resamples ?? 1000;
  const confidence = options.confidence ?? 0.95;
  if (!Number.isInteger(resamples) || resamples < 1) throw new Error(`${where}: resamples must be a positive integer, got ${resamples}`);
  if (!(confidence > 0 && confidence < 1)) throw new Error(`${where}: confidence must be in (0, 1), got ${confidence}`);
  if (rows === 0) throw new Error(`${where}: no rows to resample`);
  const byPatient = new Map<string | number, number[]>();
  if (options.patients && options.patients.length !== rows) {
    throw new Error(`${where}: ${options.patients.length} patient ids for ${rows} rows`);
  }
  for (let r = 0; r < rows; r++) {
    const id = options.patients ? options.patients[r] : r;
    const list = byPatient.get(id);
    if (list) list.push(r);
    else byPatient.set(id, [r]);
  }
  return { rowsOfPatient: [...byPatient.values()], resamples, confidence, rng: Rng.derive(options.seed, 'bootstrap') };
}

function drawRows(p: Plan): number[] {
  const rows: number[] = [];
  for (let i = 0; i < p.rowsOfPatient.length; i++) rows.push(...p.rowsOfPatient[p.rng.int(p.rowsOfPatient.length)]);
  return rows;
}

/** Counts the resamples that raised policy notes and reports them once, instead of once per resample. */
function noteCollector(where: string, warn: Warn) {
  let noisy = 0;
  let first = '';
  return {
    forResample(): Warn {
      let counted = false;
      return (message) => {
        if (!counted) noisy++;
        counted = true;
        first ||= message;
      };
    },
    report(resamples: number): void {
      if (noisy > 0) warn(`${where}: ${noisy} of ${resamples} resamples raised notes, e.g. ${first}`);
    },
  };
}

function summarize(values: number[], p: Plan, estimate: number | null, seed: number): BootstrapInterval {
  const alpha = (1 - p.confidence) / 2;
  const [lower, upper] = values.length > 0 ? (quantileSeq(values, [alpha, 1 - alpha]) as number[]) : [null, null];
  return {
    estimate,
    lower,
    upper,
    std: values.length > 1 ? (std(values) as unknown as number) : null,
    confidence: p.confidence,
    resamples: p.resamples,
    undefinedResamples: p.resamples - values.length,
    patients: p.rowsOfPatient.length,
    seed,
  };
}

/** Percentile confidence interval of a metric over patients. */
export function bootstrapInterval(
  score: ScoreFunction,
  predictions: ScoreMatrix,
  targets: LabelMatrix,
  options: BootstrapOptions,
): BootstrapInterval {
  const where = 'bootstrap';
  checkSameShape(predictions, targets, where);
  const p = plan(targets.rows, options, where);
  const warn = options.warn ?? warnToLog;
  const estimate = score(predictions, targets, warn);
  const notes = noteCollector(where, warn);
  const values: number[] = [];
  for (let i = 0; i < p.resamples; i++) {
    const rows = drawRows(p);
    const value = score(selectRows(predictions, rows), selectRows(targets, rows), notes.forResample());
    if (value !== null) values.push(value);
  }
  notes.report(p.resamples);
  return summarize(values, p, estimate, options.seed);
}

/** Paired bootstrap of the difference a − b between two models' predictions for the same patients. */
export function pairedBootstrap(
  score: ScoreFunction,
  predictionsA: ScoreMatrix,
  predictionsB: ScoreMatrix,
  targets: LabelMatrix,
  options: BootstrapOptions,
): PairedBootstrapResult {
  const where = 'paired bootstrap';
  checkSameShape(predictionsA, targets, `${where} (model a)`);
  checkSameShape(predictionsB, targets, `${where} (model b)`);
  const p = plan(targets.rows, options, where);
  const warn = options.warn ?? warnToLog;
  const a = score(predictionsA, targets, warn);
  const b = score(predictionsB, targets, warn);
  const notes = noteCollector(where, warn);
  const differences: number[] = [];
  for (let i = 0; i < p.resamples; i++) {
    const rows = drawRows(p);
    const resampledTargets = selectRows(targets, rows);
    const noteWarn = notes.forResample();
    const valueA = score(selectRows(predictionsA, rows), resampledTargets, noteWarn);
    const valueB = score(selectRows(predictionsB, rows), resampledTargets, noteWarn);
    if (valueA !== null && valueB !== null) differences.push(valueA - valueB);
  }
  notes.report(p.resamples);
  const atMostZero = differences.filter((d) => d <= 0).length;
  const atLeastZero = differences.filter((d) => d >= 0).length;
  const n = differences.length;
  return {
    ...summarize(differences, p, a !== null && b !== null ? a - b : null, options.seed),
    a,
    b,
    pValue: n > 0 ? Math.min(1, (2 * (Math.min(atMostZero, atLeastZero) + 1)) / (n + 1)) : null,
  };
}
