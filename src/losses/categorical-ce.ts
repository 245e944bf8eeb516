import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { defineLoss } from './define-loss.ts';
import { reductionOption } from './types.ts';

export const categoricalCe = defineLoss({
  name: 'categorical-ce',
  description: "softmax cross-entropy over one categorical group's logits against one-hot targets, with label smoothing",
  accepts: ['categorical'],
  schema: z.object({
    // The target becomes (1 - s) one_hot + s / classes, as in torch's cross_entropy(label_smoothing=s).
    labelSmoothing: z.number().min(0).max(0.5).default(0),
    reduction: reductionOption('mean'),
  }),
  targetShape: 'logits',
  // One element per row (the whole softmax), so 'mean' divides by the unmasked rows.
  elements: (logits, targets, { labelSmoothing }) => {
    const classes = logits.shape[logits.rank - 1];
    const smoothed = labelSmoothing > 0 ? tf.add(tf.mul(targets, 1 - labelSmoothing), labelSmoothing / classes) : targets;
    return tf.neg(tf.sum(tf.mul(smoothed, tf.logSoftmax(logits)), -1));
  },
});
