import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { defineLoss } from './define-loss.ts';
import { binaryCrossEntropyElements, focusingWeight, sigmoid } from './sigmoid-terms.ts';
import { reductionOption } from './types.ts';

export const focal = defineLoss({
  name: 'focal',
  description: 'sigmoid focal loss (Lin et al., ICCV 2017): BCE scaled by (1 - p_t)^gamma, optional alpha balance',
  accepts: ['binary'],
  schema: z.object({
    gamma: z.number().min(0).default(2),
    // Weight of the positives (negatives get 1 - alpha); left out, both get 1.
    alpha: z.number().min(0).max(1).optional(),
    reduction: reductionOption('mean'),
  }),
  targetShape: 'logits',
  elements: (logits, targets, { gamma, alpha }) => {
    // 1 - p_t = p (1 - y) + (1 - p) y, with 1 - p taken as sigmoid(-x) to stay exact for large logits.
    const oneMinusPt = tf.add(tf.mul(sigmoid(logits), tf.sub(1, targets)), tf.mul(sigmoid(tf.neg(logits)), targets));
    const focused = tf.mul(binaryCrossEntropyElements(logits, targets), focusingWeight(oneMinusPt, gamma));
    if (alpha === undefined) return focused;
    return tf.mul(focused, tf.add(tf.mul(targets, alpha), tf.mul(tf.sub(1, targets), 1 - alpha)));
  },
});
