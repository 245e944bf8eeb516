import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { defineLoss } from './define-loss.ts';
import { binaryCrossEntropyElements } from './sigmoid-terms.ts';
import { reductionOption } from './types.ts';

export const bce = defineLoss({
  name: 'bce',
  description: 'binary cross-entropy with logits, optional label smoothing and positive-class weight',
  accepts: ['binary'],
  schema: z.object({
    // Binary smoothing pulls every target towards 0.5: y (1 - s) + s / 2.
    labelSmoothing: z.number().min(0).max(0.5).default(0),
    // torch's pos_weight: one factor for every class, or one per class (the last axis of the logits).
    pos_weight: z.union([z.number().positive(), z.array(z.number().positive()).min(1)]).optional(),
    reduction: reductionOption('mean'),
  }),
  targetShape: 'logits',
  elements: (logits, targets, { labelSmoothing, pos_weight: posWeight }) => {
    const width = logits.shape[logits.rank - 1];
    if (Array.isArray(posWeight) && posWeight.length !== width) {
      throw new Error(`bce: pos_weight has ${posWeight.length} entries but the logits have ${width} classes`);
    }
    const smoothed = labelSmoothing > 0 ? tf.add(tf.mul(targets, 1 - labelSmoothing), labelSmoothing / 2) : targets;
    return binaryCrossEntropyElements(logits, smoothed, Array.isArray(posWeight) ? tf.tensor1d(posWeight) : posWeight);
  },
});
