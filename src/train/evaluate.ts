import type * as tf from '@tensorflow/tfjs';
import { binaryClassNames, binarySchema, targetColumns, totalOutputWidth, totalTargetWidth, type LabelGroup, type LabelSchema } from '../labels/schema.ts';
import type { CriterionFn } from '../losses/criterion.ts';
import type { Batch, BatchSource } from '../data/loader.ts';
import { infer } from './inference.ts';
import { monitorChoices, monitorKey, scoreAt, type Monitor, type SplitScores } from '../metrics/scores.ts';
import { scoreSplit } from '../metrics/summary.ts';
import { fitThresholds, type ThresholdSet } from '../metrics/thresholds.ts';
import { matrix } from '../metrics/matrix.ts';
import { PredictionTable } from '../metrics/prediction-table.ts';
import { describeZeroDivision, type ZeroDivision } from '../metrics/policy.ts';

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

/**
 * Runs the model over every batch of `loader` (epoch 0, no augmentation) in inference mode (inference.ts `infer`): one row per patient
 * (patient-level labels) or per real slice (slice level, ids are the slices' own ids, patients.ts `sliceId`, with
 * each row's patient), decoded into a prediction table with the targets when labelled and the loss as a mean
 * over these rows.
 */
export async function predict(
  model: tf.LayersModel,
  loader: BatchSource,
  schema: LabelSchema,
  options: { level: 'patient' | 'slice'; criterion?: CriterionFn; /** Checked after every batch: true throws InterruptedError. */ stop?: () => boolean },
): Promise<PredictionTable> {
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
  return PredictionTable.fromLogits(schema, {
    ids: sink.ids,
    ...(sliceLevel ? { patients: sink.patients } : {}),
    logits: Float32Array.from(sink.logits.flat()),
    ...(sink.targets.length === rows && targetWidth > 0 ? { targets: Float32Array.from(sink.targets.flat()) } : {}),
    ...(lossRows > 0 ? { loss: lossSum / lossRows } : {}),
  });
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

/**
 * The numbers a run reports for one split: the binary labels' summary (F2 samples = Kaggle mean, micro, macro,
 * weighted, at 0.5 and at the tuned thresholds; ROC-AUC; average precision; log loss), the mean loss, and
 * group metrics for categorical and ordinal groups.
 */
export function scorePredictions(schema: LabelSchema, predictions: PredictionTable, options: EvaluationOptions): ScoreBlock {
  if (!predictions.truth) throw new Error('scorePredictions: these predictions have no targets');
  const { scores, targets } = predictions.select(targetColumns(schema)).scoresAndTargets();
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
export function baselineScores(schema: LabelSchema, predictions: PredictionTable, zeroDivision: ZeroDivision): ScoreBlock {
  const binary = predictions.binary(binaryClassNames(schema));
  const targets = binary.targets();
  const ones = matrix(new Float32Array(targets.rows * targets.cols).fill(1), targets.rows, targets.cols);
  const quiet = () => {};
  return scoreSplit(binarySchema([...binary.columns]), ones, targets, { zeroDivision, warn: quiet });
}

/** Per-class F2 thresholds (maximising mean F2) fitted on validation (or out-of-fold) predictions of the binary labels. */
export function tuneThresholds(schema: LabelSchema, predictions: PredictionTable, options: { kind: 'per-class' | 'global'; zeroDivision: ZeroDivision; source: 'validation' | 'out-of-fold' }): ThresholdSet | undefined {
  const classes = binaryClassNames(schema);
  if (classes.length === 0 || !predictions.truth) return undefined;
  const { scores, targets } = predictions.binary(classes).scoresAndTargets();
  return fitThresholds(scores, targets, { source: options.source, classes, kind: options.kind, beta: 2, average: 'samples', zeroDivision: options.zeroDivision });
}
