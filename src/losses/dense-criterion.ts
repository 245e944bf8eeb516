import * as tf from '@tensorflow/tfjs';
import { parseOrThrow } from '../core/validate.ts';
import { denseOutputWidth, type DenseOrdinalGroup } from '../labels/dense-ordinal.ts';
import { criterionConfigSchema, resolveGroupLoss, type CriterionConfig, type CriterionFn, type CriterionResult } from './criterion.ts';
import type { Loss, LossConfig, OutputKind } from './types.ts';

/**
 * The training objective of a dense-ordinal group: the registered per-row losses applied per pixel. Pixels are
 * rows: regression maps [..., types] go to a regression loss (MAE, the reference, or MSE) as [pixels, types];
 * cumulative maps to cumulative-bce as [pixels·types, levels-1] against each type's grade; the joint softmax to
 * categorical-ce as [pixels, levels^types] against the one-hot combination. Unlabelled pixels (the ignore value)
 * and padded slices weigh 0, so 'mean' averages over the labelled elements only.
 */
const outputKinds: Record<DenseOrdinalGroup['mode'], OutputKind> = {
  regression: 'ordinal-regression',
  cumulative: 'ordinal-cumulative',
  joint: 'categorical',
};

export function defaultDenseLoss(group: DenseOrdinalGroup): LossConfig {
  if (group.mode === 'cumulative') return { name: 'cumulative-bce' };
  if (group.mode === 'joint') return { name: 'categorical-ce', labelSmoothing: 0 };
  return { name: 'mae' };
}

export interface DenseCriterion extends CriterionFn {
  readonly lossConfig: LossConfig;
}

/**
 * logits [batch, slices, H, W, outputWidth], targets [batch, slices, H, W, types] (grades or the ignore value),
 * mask [batch, slices] (0 for padded slices). `config` is the experiment's `loss` (`groups.<name>`).
 */
export function buildDenseCriterion(group: DenseOrdinalGroup, config: CriterionConfig = {}, where = 'criterion'): DenseCriterion {
  const parsed = parseOrThrow(criterionConfigSchema, config, where);
  for (const key of Object.keys(parsed.groups)) {
    if (key !== group.name) throw new Error(`${where}.groups: unknown group '${key}'; the dense-ordinal group is '${group.name}'`);
  }
  const { loss, lossConfig, weight } = resolveGroupLoss(group.name, outputKinds[group.mode], defaultDenseLoss(group), parsed.groups[group.name], where);
  const types = group.classes.length;
  const width = denseOutputWidth(group);

  const criterion = (logits: tf.Tensor, targets: tf.Tensor, mask?: tf.Tensor): CriterionResult => {
    if (logits.rank !== 5 || logits.shape[4] !== width) throw new Error(`${where}: dense logits must be [batch, slices, H, W, ${width}], got [${logits.shape}]`);
    if (targets.rank !== 5 || targets.shape[4] !== types || !tf.util.arraysEqual(targets.shape.slice(0, 4), logits.shape.slice(0, 4))) {
      throw new Error(`${where}: dense targets [${targets.shape}] must be [${logits.shape.slice(0, 4)}, ${types}]`);
    }
    return tf.tidy(() => {
      const value = denseLoss(group, loss, logits, targets, mask);
      return { total: tf.mul(value, weight) as tf.Scalar, perGroup: { [group.name]: value } };
    });
  };
  return Object.assign(criterion, { lossConfig });
}

function denseLoss(group: DenseOrdinalGroup, loss: Loss, logits: tf.Tensor, targets: tf.Tensor, mask: tf.Tensor | undefined): tf.Scalar {
  const types = group.classes.length;
  const pixels = targets.size / types;
  let labelled = tf.cast(tf.notEqual(targets, group.ignoreValue), 'float32');
  if (mask) labelled = tf.mul(labelled, tf.reshape(tf.cast(mask, 'float32'), [mask.shape[0], mask.shape[1] ?? 1, 1, 1, 1]));
  const grades = tf.mul(targets, tf.cast(tf.notEqual(targets, group.ignoreValue), 'float32'));
  if (group.mode === 'regression') {
    return loss.compute(tf.reshape(logits, [pixels, types]), tf.reshape(grades, [pixels, types]), tf.reshape(labelled, [pixels, types]));
  }
  if (group.mode === 'cumulative') {
    return loss.compute(tf.reshape(logits, [pixels * types, group.levels - 1]), tf.reshape(grades, [pixels * types, 1]), tf.reshape(labelled, [pixels * types]));
  }
  const place = tf.tensor1d(Array.from({ length: types }, (_, t) => group.levels ** (types - 1 - t)), 'float32');
  const joint = tf.cast(tf.sum(tf.mul(tf.reshape(grades, [pixels, types]), place), -1), 'int32');
  const oneHot = tf.oneHot(joint, group.levels ** types).toFloat();
  const allLabelled = tf.prod(tf.reshape(labelled, [pixels, types]), -1);
  return loss.compute(tf.reshape(logits, [pixels, group.levels ** types]), oneHot, allLabelled);
}
