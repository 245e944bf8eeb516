import type * as tf from '@tensorflow/tfjs';
import { infer } from './inference.ts';
import type { Batch, BatchSource } from '../data/loader.ts';
import { decodeDensePixel, denseOutputWidth, denseThresholds, jointIndex, type DenseOrdinalGroup } from '../labels/dense-ordinal.ts';
import type { CriterionFn } from '../losses/criterion.ts';
import { DenseOrdinalAccumulator, tuneThresholdsForQwk, type DenseTypeScores } from '../metrics/dense-ordinal.ts';
import type { ScoreBlock } from './evaluate.ts';
import { metricKeys } from '../metrics/scores.ts';

/**
 * Evaluating dense-ordinal maps over a split: the model runs batch by batch, each labelled pixel of each type is
 * decoded (labels/dense-ordinal.ts) and counted (metrics/dense-ordinal.ts), so a split's maps never sit in memory.
 * Pixels whose true combination of grades never occurs in the training maps (`seen`) are also counted apart:
 * that is where a joint softmax must fail and a per-type regression need not.
 */
export interface DenseExample {
  id: string;
  rows: number;
  cols: number;
  /** The input slice as the model saw it, [rows, cols, channels]. */
  image: { channels: number; data: number[] };
  /** Per type, row-major [rows, cols]: the true grades (ignore value where unlabelled), the continuous output, the grade read from it. */
  truth: number[][];
  values: number[][];
  grades: number[][];
}

export interface DenseEvaluation {
  all: DenseOrdinalAccumulator;
  /** Fully labelled pixels whose true combination is not among `seen`. */
  unseen?: DenseOrdinalAccumulator;
  /** Fully labelled pixels, and those with every type graded right (`joint` accuracy). */
  joint: { pixels: number; exact: number; unseenPixels: number; unseenExact: number };
  loss?: number;
  examples: DenseExample[];
}

export interface DenseEvaluateOptions {
  criterion?: CriterionFn;
  /** Per type, the thresholds of a regression output (default: the group's). */
  thresholds?: number[][];
  /** Joint classes (labels/dense-ordinal.ts `jointIndex`) present in the training maps. */
  seen?: ReadonlySet<number>;
  /** Keep this many slices' maps for the report (the first ones, in loader order). */
  examples?: number;
  /** Checked after every batch: true throws InterruptedError (a second Ctrl-C during validation). */
  stop?: () => boolean;
}

export function defaultDenseThresholds(group: DenseOrdinalGroup): number[][] {
  return group.classes.map(() => denseThresholds(group));
}

function round(value: number): number {
  return Number(value.toPrecision(5));
}

/** Runs the model over every batch of `loader` (inference.ts `infer`) and counts every labelled pixel. */
export async function evaluateDense(model: tf.LayersModel, loader: BatchSource, group: DenseOrdinalGroup, options: DenseEvaluateOptions = {}): Promise<DenseEvaluation> {
  const types = group.classes.length;
  const width = denseOutputWidth(group);
  const thresholds = options.thresholds ?? defaultDenseThresholds(group);
  const all = new DenseOrdinalAccumulator(group.classes, group.levels);
  const unseen = options.seen ? new DenseOrdinalAccumulator(group.classes, group.levels) : undefined;
  const joint = { pixels: 0, exact: 0, unseenPixels: 0, unseenExact: 0 };
  const examples: DenseExample[] = [];
  const wantedExamples = options.examples ?? 0;
  const values = new Float32Array(types);
  const grades = new Int32Array(types);
  const truth = new Int32Array(types);
  let lossSum = 0;
  let lossBatches = 0;
  const criterion = options.criterion;
  const inference = {
    targetsOf: (batch: Batch<tf.Tensor>) => {
      if (!batch.maps) throw new Error(`batch ${batch.index} has no label maps: the loader needs the dense-ordinal group`);
      return batch.maps;
    },
    ...(criterion ? { lossOf: (out: tf.Tensor, maps: tf.Tensor, batch: Batch<tf.Tensor>) => criterion(out, maps, batch.mask).total } : {}),
    ...(options.stop ? { stop: options.stop } : {}),
  };
  await infer(model, loader, inference, async ({ batch, outputs: outputValues, targets, loss }) => {
    const mapValues = targets!;
    if (loss !== undefined) {
      lossSum += loss;
      lossBatches += 1;
    }
    const [, slices, rows, cols] = batch.maps!.shape;
    const keepImages = examples.length < wantedExamples ? ((await batch.images.data()) as Float32Array) : undefined;
    batch.patientIds.forEach((id, p) => {
      for (let s = 0; s < batch.sliceCounts[p]; s++) {
        const slot = p * slices + s;
        const example = keepImages && examples.length < wantedExamples ? newExample(batch, id, s, slot, keepImages, types) : undefined;
        for (let pixel = 0; pixel < rows * cols; pixel++) {
          const at = slot * rows * cols + pixel;
          decodeDensePixel(group, outputValues.subarray(at * width, (at + 1) * width), thresholds, values, grades);
          let labelled = 0;
          let right = 0;
          for (let t = 0; t < types; t++) {
            truth[t] = mapValues[at * types + t];
            if (example) {
              example.truth[t].push(truth[t]);
              example.values[t].push(round(values[t]));
              example.grades[t].push(grades[t]);
            }
            if (truth[t] === group.ignoreValue) continue;
            labelled += 1;
            if (truth[t] === grades[t]) right += 1;
            all.add(t, truth[t], values[t], grades[t]);
          }
          if (labelled < types) continue;
          joint.pixels += 1;
          if (right === types) joint.exact += 1;
          if (unseen && !options.seen!.has(jointIndex(truth, group.levels))) {
            joint.unseenPixels += 1;
            if (right === types) joint.unseenExact += 1;
            for (let t = 0; t < types; t++) unseen.add(t, truth[t], values[t], grades[t]);
          }
        }
        if (example) examples.push(example);
      }
    });
  });
  return { all, ...(unseen ? { unseen } : {}), joint, ...(lossBatches > 0 ? { loss: lossSum / lossBatches } : {}), examples };
}

function newExample(batch: Batch<tf.Tensor>, id: string, s: number, slot: number, images: Float32Array, types: number): DenseExample {
  const [, , rows, cols, channels] = batch.images.shape as number[];
  const size = rows * cols * channels;
  const data = Array.from(images.subarray(slot * size, (slot + 1) * size), round);
  const perType = () => Array.from({ length: types }, () => [] as number[]);
  return { id: batch.sliceCounts[batch.patientIds.indexOf(id)] > 1 ? `${id}:${s}` : id, rows, cols, image: { channels, data }, truth: perType(), values: perType(), grades: perType() };
}

/** The joint classes of every fully labelled pixel in `loader`'s maps (the training split, not augmented). */
export async function seenCombinations(loader: BatchSource, group: DenseOrdinalGroup): Promise<Set<number>> {
  const types = group.classes.length;
  const seen = new Set<number>();
  const grades = new Int32Array(types);
  for await (const batch of loader.epoch(0)) {
    try {
      if (!batch.maps) throw new Error(`batch ${batch.index} has no label maps`);
      const maps = (await batch.maps.data()) as Float32Array;
      for (let at = 0; at < maps.length / types; at++) {
        let labelled = true;
        for (let t = 0; t < types; t++) {
          grades[t] = maps[at * types + t];
          if (grades[t] === group.ignoreValue) labelled = false;
        }
        if (labelled) seen.add(jointIndex(grades, group.levels));
      }
    } finally {
      batch.dispose();
    }
  }
  return seen;
}

function perClass(scores: Record<string, DenseTypeScores>, key: 'pixel_mae' | 'accuracy' | 'grade_mae' | 'qwk'): { mean: number | null; perClass: Record<string, number | null> } {
  const values = Object.fromEntries(Object.entries(scores).map(([type, s]) => [type, s[key]]));
  const defined = Object.values(values).filter((v): v is number => v !== null && Number.isFinite(v));
  return { mean: defined.length > 0 ? defined.reduce((a, b) => a + b, 0) / defined.length : null, perClass: values };
}

/** One accumulator's numbers in the layout of metrics.json groups (report/label-groups.ts reads it). */
export function denseGroupScores(group: DenseOrdinalGroup, accumulator: DenseOrdinalAccumulator): Record<string, unknown> {
  const scores = accumulator.scores({ warn: () => undefined });
  return {
    kind: 'dense-ordinal',
    levels: group.levels,
    pixels: Object.fromEntries(Object.entries(scores).map(([type, s]) => [type, s.pixels])),
    pixel_mae: perClass(scores, 'pixel_mae'),
    accuracy: perClass(scores, 'accuracy'),
    mae: perClass(scores, 'grade_mae'),
    qwk: perClass(scores, 'qwk'),
    dice: Object.fromEntries(Object.entries(scores).map(([type, s]) => [type, s.dice])),
    confusion: Object.fromEntries(Object.entries(scores).map(([type, s]) => [type, s.confusion])),
  };
}

/**
 * A split's score block: `groups.<name>` (all labelled pixels) and, when the training combinations were given,
 * `unseen.<name>` (pixels whose combination training never showed); `qwk` and `ordinal_accuracy` are the means
 * over types (what `train.monitor` reads); `joint_accuracy` the share of fully labelled pixels with every type right.
 */
export function scoreDense(group: DenseOrdinalGroup, evaluation: DenseEvaluation): ScoreBlock {
  const main = denseGroupScores(group, evaluation.all);
  const { joint } = evaluation;
  const mean = (key: string) => (main[key] as { mean: number | null }).mean;
  return {
    ...(evaluation.loss !== undefined ? { [metricKeys.loss.path]: evaluation.loss } : {}),
    [metricKeys.qwk.path]: mean('qwk'),
    [metricKeys.ordinalAccuracy.path]: mean('accuracy'),
    pixel_mae: mean('pixel_mae'),
    joint_accuracy: joint.pixels > 0 ? joint.exact / joint.pixels : null,
    groups: { [group.name]: main },
    ...(evaluation.unseen
      ? { unseen: { pixels: joint.unseenPixels, joint_accuracy: joint.unseenPixels > 0 ? joint.unseenExact / joint.unseenPixels : null, groups: { [group.name]: denseGroupScores(group, evaluation.unseen) } } }
      : {}),
  };
}

/** Per type, regression thresholds maximising QWK on these (validation) maps; the group's own for other modes. */
export function tuneDenseThresholds(group: DenseOrdinalGroup, evaluation: DenseEvaluation): { thresholds: number[][]; qwk: Array<number | null> } | undefined {
  if (group.mode !== 'regression') return undefined;
  const start = denseThresholds(group);
  const tuned = group.classes.map((_, t) => tuneThresholdsForQwk(evaluation.all.histograms[t], start, evaluation.all.binWidth));
  return { thresholds: tuned.map((r) => r.thresholds), qwk: tuned.map((r) => r.qwk) };
}
