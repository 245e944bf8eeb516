import type * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import type { RegistryEntry } from '../core/registry.ts';

/**
 * What a loss is fed, in the flat layouts of src/labels/schema.ts: independent binary labels, one categorical
 * group (one-hot targets, softmax logits), ordinal grades predicted by regression (one value per class), or
 * ordinal grades predicted by levels-1 cumulative logits per class.
 */
export const outputKinds = ['binary', 'categorical', 'ordinal-regression', 'ordinal-cumulative'] as const;
export type OutputKind = (typeof outputKinds)[number];

/**
 * 'sum' adds every weighted loss element; 'mean' divides that sum by the sum of the weights broadcast to the
 * elements, i.e. by the number of unmasked elements for a 0/1 mask (all elements when there is no mask).
 * What an element is depends on the loss: one per logit for the sigmoid and regression losses, one per row
 * (sample or slice) for categorical-ce.
 */
export const reductions = ['sum', 'mean'] as const;
export type Reduction = (typeof reductions)[number];

export function reductionOption(fallback: Reduction) {
  return z.enum(reductions).default(fallback);
}

/** A built loss: `compute` returns a scalar and keeps no intermediate tensors. */
export interface Loss {
  readonly name: string;
  readonly accepts: readonly OutputKind[];
  readonly reduction: Reduction;
  /**
   * `weights` (optional, non-negative) has the shape of the leading dimensions of the loss elements and is
   * broadcast over the rest: per element, per row (a [batch, slices] slice mask for [batch, slices, width]
   * logits) or per sample. A zero weight removes the element from the sum and from the mean's count.
   */
  compute(logits: tf.Tensor, targets: tf.Tensor, weights?: tf.Tensor): tf.Scalar;
}

export type LossEntry<Schema extends z.ZodObject<z.ZodRawShape>> = RegistryEntry<Schema, void, Loss>;

/** A loss as written in a config: its registered name plus its options. */
export type LossConfig = { name: string } & Record<string, unknown>;
