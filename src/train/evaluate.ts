import type * as tf from '@tensorflow/tfjs';
import { decodeLogits } from '../labels/decode.ts';
import { binaryClassNames, binarySchema, targetColumns, totalOutputWidth, totalTargetWidth, type LabelGroup, type LabelSchema } from '../labels/schema.ts';
import type { CriterionFn } from '../losses/criterion.ts';
import type { Batch, BatchSource } from '../data/loader.ts';
import { infer } from './inference.ts';
import { monitorChoices, monitorKey, scoreAt, type Monitor, type SplitScores } from '../metrics/scores.ts';
import { scoreSplit } from '../metrics/summary.ts';
import { fitThresholds, type ThresholdSet } from '../metrics/thresholds.ts';
import { matrix, selectColumns, type LabelMatrix, type ScoreMatrix } from '../metrics/matrix.ts';
import { describeZeroDivision, type ZeroDivision } from '../metrics/policy.ts';

/**
 * Model outputs over a whole split: one row per patient (patient-level labels) or per real slice (slice-level,
 * ids are the slices' own ids, patients.ts `sliceId`), with the raw logits, the targets when labelled, and the
 * loss as a mean over these rows.
 */
export interface Predictions {
  ids: string[];
  /** Slice level: the patient of each row (what a bootstrap resamples by). */
  patients?: string[];
  rows: number;
  /** [rows, totalOutputWidth(schema)] */
  logits: Float32Array;
  /** [rows, totalTargetWidth(schema)] */
  targets?: Float32Array;
  loss?: number;
}

/** Appends one batch's real rows (padded slices dropped) to the running arrays; returns how many it appended. */
function collectRows(batch: Batch<tf.Tensor>, logits: Float32Array, targets: Float32Array | undefined, outWidth: number, targetWidth: number, sink: { ids: string[]; patients: string[]; logits: number[][]; targets: number[][] }, sliceLevel: boolean): number {
  const before = sink.ids.length;
  batch.patientIds.forEach((id, p) => {
    const slots = sliceLevel ? batch.sliceCounts[p] : 1;
    const stride = sliceLevel ? (batch.mask.shape[1] as number) : 1;
    for (let k = 0; k < slots; k++) {
      const row = p * stride + k;
      sink.ids.push(sliceLevel ? batch.sliceIds[p][k] : id);
      sink.patients.push(id);
      sink.logits.push(Array.from(logits.subarray(row * outWidth, (row + 1) * outWidth)));
      if (targets) sink.targets.push(Array.from(targets.subarray(row * targetWidth, (row + 1) * targetWidth)));
    }
  });
  return sink.ids.length - before;
}

/** Runs the model over every batch of `loader` (epoch 0, no augmentation) in inference mode (inference.ts `infer`). */
export async function predict(
  model: tf.LayersModel,
  loader: BatchSource,
  schema: LabelSchema,
  options: { level: 'patient' | 'slice'; criterion?: CriterionFn; /** Checked after every batch: true throws InterruptedError. */ stop?: () => boolean },
): Promise<Predictions> {
  const outWidth = totalOutputWidth(schema);
  const targetWidth = totalTargetWidth(schema);
  const sliceLevel = options.level === 'slice';
  const criterion = options.criterion;
  const sink = { ids: [] as string[], patients: [] as string[], logits: [] as number[][], targets: [] as number[][] };
  // The loss is a mean over rows (patients, or real slices at slice level), whatever the batches' sizes.
  let lossSum = 0;
  let lossRows = 0;
  const inference = {
    targetsOf: (batch: Batch<tf.Tensor>) => (sliceLevel ? batch.sliceTargets : batch.targets),
    ...(criterion ? { lossOf: (out: tf.Tensor, targets: tf.Tensor, batch: Batch<tf.Tensor>) => criterion(out, targets, sliceLevel ? batch.mask : undefined).total } : {}),
    ...(options.stop ? { stop: options.stop } : {}),
  };
  await infer(model, loader, inference, ({ batch, outputs, targets, loss }) => {
    const rows = collectRows(batch, outputs, targets, outWidth, targetWidth, sink, sliceLevel);
    if (loss === undefined) return;
    lossSum += loss * rows;
    lossRows += rows;
  });
  const rows = sink.ids.length;
  return {
    ids: sink.ids,
    ...(sliceLevel ? { patients: sink.patients } : {}),
    rows,
    logits: Float32Array.from(sink.logits.flat()),
    ...(sink.targets.length === rows && targetWidth > 0 ? { targets: Float32Array.from(sink.targets.flat()) } : {}),
    ...(lossRows > 0 ? { loss: lossSum / lossRows } : {}),
  };
}

/** Probabilities (and ordinal scores) in the target layout, so every metric reads predictions like targets. */
export function targetLayoutScores(schema: LabelSchema, logits: Float32Array): ScoreMatrix {
  const decoded = decodeLogits(schema, logits);
  const wanted = targetColumns(schema);
  const indices = wanted.map((name) => decoded.columns.indexOf(name));
  return selectColumns(matrix(decoded.values, decoded.rows, decoded.columns.length), indices);
}

export interface EvaluationOptions {
  zeroDivision: ZeroDivision;
  /** Tuned thresholds to score with (fitted on validation predictions, never on these when they are test). */
  thresholds?: ThresholdSet;
}

/** A split's scores (metrics/scores.ts owns their names and metrics.json's schema of them). */
export type ScoreBlock = SplitScores;

/** `train.monitor`'s choices come from the metric-key table (metrics/scores.ts); re-exported for the trainer. */
export { monitorChoices, type Monitor };

/** The monitored value, oriented so that higher is better (NaN when the block lacks it); `last` ranks epochs by their number. */
export function monitoredValue(block: ScoreBlock, monitor: Monitor, epoch = NaN): number {
  if (monitor === 'last') return epoch;
  const key = monitorKey(monitor);
  const value = scoreAt(block, key) ?? NaN;
  return key.higherIsBetter ? value : -value;
}

/** The kind of label group a monitor reads; none for the loss and `last`. */
function monitoredKind(monitor: Monitor): LabelGroup['kind'] | undefined {
  return monitor === 'last' ? undefined : monitorKey(monitor).labels;
}

/** Fails (naming `where`) when the label schema has nothing the monitor reads, e.g. F2 without binary labels. */
export function checkMonitor(schema: LabelSchema, monitor: Monitor, where: string): void {
  const present = new Set(schema.groups.map((group) => group.kind));
  const fits = (choice: Monitor) => {
    const kind = monitoredKind(choice);
    return kind === undefined || present.has(kind);
  };
  if (fits(monitor)) return;
  throw new Error(
    `${where}: '${monitor}' needs ${monitoredKind(monitor)} labels, and the label schema has only ${[...present].join(' and ')} groups; ` +
      `use one of ${monitorChoices.filter(fits).join(', ')}`,
  );
}

/** The binary columns of a target-layout matrix. */
function binaryColumns<T extends ScoreMatrix | LabelMatrix>(schema: LabelSchema, m: T): T {
  const columns = targetColumns(schema);
  return selectColumns(m, binaryClassNames(schema).map((name) => columns.indexOf(name))) as T;
}

/**
 * The binary labels' probabilities and targets: what F2, AUC, thresholds and the classification report read.
 * Callers check `binaryClassNames(schema)` first: a schema without binary labels has no such view.
 */
export function binaryView(schema: LabelSchema, predictions: Predictions): { classes: string[]; scores: ScoreMatrix; targets?: LabelMatrix } {
  const classes = binaryClassNames(schema);
  if (classes.length === 0) throw new Error('binaryView: the label schema has no binary labels');
  const scores = binaryColumns(schema, targetLayoutScores(schema, predictions.logits));
  if (!predictions.targets) return { classes, scores };
  return { classes, scores, targets: binaryColumns(schema, matrix(predictions.targets, predictions.rows, totalTargetWidth(schema)) as LabelMatrix) };
}

/**
 * The numbers a run reports for one split: the binary labels' summary (F2 samples = Kaggle mean, micro, macro,
 * weighted, at 0.5 and at the tuned thresholds; ROC-AUC; average precision; log loss), the mean loss, and
 * group metrics for categorical and ordinal groups.
 */
export function scorePredictions(schema: LabelSchema, predictions: Predictions, options: EvaluationOptions): ScoreBlock {
  if (!predictions.targets) throw new Error('scorePredictions: these predictions have no targets');
  const scores = targetLayoutScores(schema, predictions.logits);
  const targets: LabelMatrix = matrix(predictions.targets, predictions.rows, totalTargetWidth(schema));
  const block: ScoreBlock = {
    rows: predictions.rows,
    ...(predictions.loss !== undefined ? { loss: predictions.loss } : {}),
    policy: `${describeZeroDivision(options.zeroDivision)}; samples = mean F2 over rows (Kaggle); thresholds fitted on validation predictions only`,
  };
  Object.assign(block, scoreSplit(schema, scores, targets, { thresholds: options.thresholds, zeroDivision: options.zeroDivision }));
  return block;
}

/**
 * The all-positive predictor's scores (every binary label predicted with probability 1) on these predictions'
 * rows, as a full score block: the floor a model must clearly beat.
 */
export function baselineScores(schema: LabelSchema, predictions: Predictions, zeroDivision: ZeroDivision): ScoreBlock {
  const { classes, targets } = binaryView(schema, predictions);
  if (!targets) throw new Error('baselineScores: these predictions have no targets');
  const ones = matrix(new Float32Array(targets.rows * targets.cols).fill(1), targets.rows, targets.cols);
  const quiet = () => {};
  return scoreSplit(binarySchema(classes), ones, targets, { zeroDivision, warn: quiet });
}

/** Per-class F2 thresholds (maximising mean F2) fitted on validation (or out-of-fold) predictions of the binary labels. */
export function tuneThresholds(schema: LabelSchema, predictions: Predictions, options: { kind: 'per-class' | 'global'; zeroDivision: ZeroDivision; source: 'validation' | 'out-of-fold' }): ThresholdSet | undefined {
  if (binaryClassNames(schema).length === 0) return undefined;
  const { classes, scores, targets } = binaryView(schema, predictions);
  if (!targets) return undefined;
  return fitThresholds(scores, targets, { source: options.source, classes, kind: options.kind, beta: 2, average: 'samples', zeroDivision: options.zeroDivision });
}
