import { dicePerGrade, kappaFromConfusion } from './ordinal.ts';
import type { ReportingOptions } from './policy.ts';

/**
 * Per-pixel metrics of dense ordinal maps, accumulated over a split one slice at a time (a split's pixels never
 * sit in memory at once). Per type: pixel MAE of the continuous output against the true grade, exact-grade
 * accuracy, grade MAE, quadratic weighted kappa, Dice per grade and the grade confusion matrix (rows true,
 * columns predicted), all over the labelled pixels (the ignore value left out). The same numbers as
 * scikit-learn's `mean_absolute_error`, `accuracy_score`, `cohen_kappa_score(weights='quadratic')`,
 * `f1_score(average=None)` and `confusion_matrix` on the flattened labelled pixels.
 *
 * For threshold tuning it also keeps, per type and true grade, a histogram of the continuous values (bins of
 * `binWidth` over [-1, levels]), from which any thresholds' confusion matrix follows without the pixels.
 */
export interface DenseTypeScores {
  pixels: number;
  pixel_mae: number | null;
  accuracy: number | null;
  grade_mae: number | null;
  qwk: number | null;
  dice: Array<number | null>;
  confusion: number[][];
}

export const HISTOGRAM_LOW = -1;
export const DEFAULT_BIN_WIDTH = 0.02;

export class DenseOrdinalAccumulator {
  readonly confusion: number[][][];
  private readonly absoluteError: number[];
  private readonly counts: number[];
  /** [type][true grade] → counts per bin of the continuous value. */
  readonly histograms: Float64Array[][];
  readonly bins: number;

  constructor(
    readonly types: readonly string[],
    readonly levels: number,
    readonly binWidth = DEFAULT_BIN_WIDTH,
  ) {
    this.confusion = types.map(() => Array.from({ length: levels }, () => new Array<number>(levels).fill(0)));
    this.absoluteError = types.map(() => 0);
    this.counts = types.map(() => 0);
    this.bins = Math.ceil((levels - HISTOGRAM_LOW) / binWidth);
    this.histograms = types.map(() => Array.from({ length: levels }, () => new Float64Array(this.bins)));
  }

  /** The histogram bin of a continuous value (values outside [-1, levels] go to the end bins). */
  binOf(value: number): number {
    return Math.min(this.bins - 1, Math.max(0, Math.floor((value - HISTOGRAM_LOW) / this.binWidth)));
  }

  /** One labelled pixel of type `t`. */
  add(t: number, trueGrade: number, value: number, predictedGrade: number): void {
    this.confusion[t][trueGrade][predictedGrade] += 1;
    this.absoluteError[t] += Math.abs(value - trueGrade);
    this.counts[t] += 1;
    this.histograms[t][trueGrade][this.binOf(value)] += 1;
  }

  scores(options: ReportingOptions = {}): Record<string, DenseTypeScores> {
    return Object.fromEntries(this.types.map((type, t) => [type, scoreConfusion(this.confusion[t], this.counts[t] > 0 ? this.absoluteError[t] / this.counts[t] : null, options)]));
  }
}

/** The per-type numbers from its confusion matrix (and the continuous MAE, computed by the caller). */
export function scoreConfusion(confusion: number[][], pixelMae: number | null, options: ReportingOptions = {}): DenseTypeScores {
  const pixels = confusion.flat().reduce((s, v) => s + v, 0);
  let hits = 0;
  let gradeError = 0;
  confusion.forEach((row, i) => row.forEach((count, j) => {
    if (i === j) hits += count;
    gradeError += count * Math.abs(i - j);
  }));
  return {
    pixels,
    pixel_mae: pixelMae,
    accuracy: pixels > 0 ? hits / pixels : null,
    grade_mae: pixels > 0 ? gradeError / pixels : null,
    qwk: pixels > 0 ? kappaFromConfusion(confusion, options) : null,
    dice: dicePerGrade(confusion),
    confusion,
  };
}

/** The confusion matrix that thresholds give, from one type's per-grade histograms (a value above t passes t). */
export function confusionFromHistograms(histograms: readonly Float64Array[], thresholds: readonly number[], binWidth: number): number[][] {
  const levels = histograms.length;
  const bins = histograms[0].length;
  const confusion = Array.from({ length: levels }, () => new Array<number>(levels).fill(0));
  for (let b = 0; b < bins; b++) {
    const centre = HISTOGRAM_LOW + (b + 0.5) * binWidth;
    let grade = 0;
    for (const t of thresholds) if (centre > t) grade++;
    for (let g = 0; g < levels; g++) confusion[g][grade] += histograms[g][b];
  }
  return confusion;
}

/**
 * Thresholds maximising QWK for one type, by coordinate ascent over the bin edges from `start` (each threshold
 * moved within its neighbours' bounds, a few sweeps). Returns `start` when the histograms are empty.
 */
export function tuneThresholdsForQwk(histograms: readonly Float64Array[], start: readonly number[], binWidth: number): { thresholds: number[]; qwk: number | null } {
  const quiet = { warn: () => undefined };
  const qwkOf = (thresholds: readonly number[]) => kappaFromConfusion(confusionFromHistograms(histograms, thresholds, binWidth), quiet) ?? -Infinity;
  const total = histograms.reduce((s, h) => s + h.reduce((a, b) => a + b, 0), 0);
  if (total === 0) return { thresholds: [...start], qwk: null };
  const bins = histograms[0].length;
  const edge = (b: number) => Number((HISTOGRAM_LOW + b * binWidth).toFixed(6));
  const current = [...start];
  let best = qwkOf(current);
  for (let sweep = 0; sweep < 4; sweep++) {
    let improved = false;
    for (let k = 0; k < current.length; k++) {
      const low = k > 0 ? current[k - 1] : HISTOGRAM_LOW;
      const high = k < current.length - 1 ? current[k + 1] : edge(bins);
      for (let b = 1; b < bins; b++) {
        const candidate = edge(b);
        if (candidate <= low || candidate >= high || candidate === current[k]) continue;
        const trial = [...current];
        trial[k] = candidate;
        const value = qwkOf(trial);
        if (value > best + 1e-12) {
          best = value;
          current[k] = candidate;
          improved = true;
        }
      }
    }
    if (!improved) break;
  }
  return { thresholds: current, qwk: Number.isFinite(best) ? best : null };
}
