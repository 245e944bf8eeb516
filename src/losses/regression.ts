import type * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { defineLoss } from './define-loss.ts';
import { reductionOption } from './types.ts';

/** An ordinal-regression loss: the model's output per class is a predicted grade, compared to the true grade. */
export function regressionLoss(name: string, description: string, distance: (predicted: tf.Tensor, grades: tf.Tensor) => tf.Tensor) {
  return defineLoss({
    name,
    description,
    accepts: ['ordinal-regression'],
    schema: z.object({ reduction: reductionOption('mean') }),
    targetShape: 'logits',
    elements: (predicted, grades) => distance(predicted, grades),
  });
}
