import * as tf from '@tensorflow/tfjs';
import { FoldSlices, UnfoldSlices } from './layers/slice-folding.ts';

/**
 * How the per-slice backbone meets the [batch, slices, ...] input:
 * - `fold` (default): slices folded into the batch, real slices only, one backbone call for all of them;
 * - `timeDistributed`: tf.layers.timeDistributed, one backbone call per slice position (the baseline the
 *   benchmark compares against; padded slices are computed too).
 */
export const stackingModes = ['fold', 'timeDistributed'] as const;
export type StackingMode = (typeof stackingModes)[number];

/** Runs `backbone` on every slice: images [batch, slices, H, W, C] → features [batch, slices, features]. */
export function stackSlices(images: tf.SymbolicTensor, mask: tf.SymbolicTensor, backbone: tf.LayersModel, mode: StackingMode): tf.SymbolicTensor {
  if (mode === 'timeDistributed') {
    return tf.layers.timeDistributed({ layer: backbone, name: 'backbone_per_slice' }).apply(images) as tf.SymbolicTensor;
  }
  return foldApplyUnfold(images, mask, (rows) => backbone.apply(rows) as tf.SymbolicTensor, 'slices');
}

/**
 * Folds [batch, slices, ...] to the real slices' rows, applies `perRow`, and unfolds the result to
 * [batch, slices, ...] with zeros at padded slices.
 */
export function foldApplyUnfold(
  sequence: tf.SymbolicTensor,
  mask: tf.SymbolicTensor,
  perRow: (rows: tf.SymbolicTensor) => tf.SymbolicTensor,
  name: string,
): tf.SymbolicTensor {
  const rows = new FoldSlices({ name: `fold_${name}`, compact: true }).apply([sequence, mask]) as tf.SymbolicTensor;
  return new UnfoldSlices({ name: `unfold_${name}`, compact: true }).apply([perRow(rows), mask]) as tf.SymbolicTensor;
}
