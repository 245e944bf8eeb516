import * as tf from '@tensorflow/tfjs';
import type { z } from 'zod';
import { asFloat, assertSameRows, assertSameShape } from './checks.ts';
import { reduceLoss } from './reduce.ts';
import type { Loss, LossEntry, OutputKind, Reduction } from './types.ts';

type WithReduction = { reduction: Reduction };

export interface LossSpec<Schema extends z.ZodObject<z.ZodRawShape>> {
  name: string;
  description: string;
  accepts: readonly OutputKind[];
  /** Its options; every loss has a `reduction` (see `reductionOption`). */
  schema: Schema;
  /** 'logits': targets shaped like the logits; 'rows': the same leading dimensions, any width. */
  targetShape: 'logits' | 'rows';
  /** Per-element losses; runs inside a tidy, with shapes checked and targets float32. */
  elements(logits: tf.Tensor, targets: tf.Tensor, options: z.output<Schema>): tf.Tensor;
}

/**
 * The registry entry of a loss: the shell common to all of them (shape checks, element losses, then weights
 * and the reduction, with no leaked tensors) around its own element-loss formula.
 */
export function defineLoss<Schema extends z.ZodObject<z.ZodRawShape>>(
  spec: LossSpec<Schema> & (z.output<Schema> extends WithReduction ? unknown : 'the schema needs a reduction option'),
): LossEntry<Schema> {
  const { name, accepts } = spec;
  const create = (options: z.output<Schema>): Loss => {
    const { reduction } = options as z.output<Schema> & WithReduction;
    return {
      name,
      accepts,
      reduction,
      compute(logits: tf.Tensor, targets: tf.Tensor, weights?: tf.Tensor): tf.Scalar {
        if (logits.dtype !== 'float32') throw new Error(`${name}: logits must be float32, got ${logits.dtype}`);
        if (spec.targetShape === 'logits') assertSameShape(logits, targets, name);
        else assertSameRows(logits, targets, name);
        return tf.tidy(() => reduceLoss(spec.elements(logits, asFloat(targets), options), reduction, weights, name));
      },
    };
  };
  return { name, description: spec.description, schema: spec.schema, create };
}
