import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { fusedAslElements } from '../backend/asymmetric-loss.ts';
import { fusedActive } from '../backend/tf-ops.ts';
import { defineLoss } from './define-loss.ts';
import { flooredLogSigmoid, focusingWeight, sigmoid, stopGradient } from './sigmoid-terms.ts';
import { reductionOption } from './types.ts';

const aslOptions = z.object({
  gamma_neg: z.number().min(0).default(4),
  gamma_pos: z.number().min(0).default(1),
  // Below 1e-6 a shift of 1 - p is lost in float32 anyway; 0 turns the clip off.
  clip: z
    .number()
    .min(0)
    .max(0.5)
    .refine((clip) => clip === 0 || clip >= 1e-6, 'use 0 to turn the clip off, or a value of at least 1e-6')
    .default(0.05),
  // The reference's floor on probabilities: caps each element's log term at -log(eps). 0: no floor.
  eps: z.number().min(0).max(0.1).default(1e-8),
  reduction: reductionOption('sum'),
  // Treat the focusing weights as constants when differentiating (the reference's disable_torch_grad_focal_loss).
  stopGradientFocusing: z.boolean().default(false),
});

export type AslOptions = z.output<typeof aslOptions>;

/**
 * Per-element asymmetric loss (Ridnik et al., ICCV 2021) with p = sigmoid(x) and the negatives' probability
 * shifted by the clip, p_neg = min(1 - p + clip, 1):
 *   -[y log(max(p, eps)) (1 - p)^gamma_pos + (1 - y) log(max(p_neg, eps)) (1 - p_neg)^gamma_neg].
 * For 0/1 targets this is the paper's formula exactly; soft targets weight each branch by its own focusing term.
 * On the native backend it is one fused kernel (src/backend/asymmetric-loss.ts) giving the same elements.
 */
export function aslElements(logits: tf.Tensor, targets: tf.Tensor, options: AslOptions): tf.Tensor {
  const { gamma_neg, gamma_pos, clip, eps } = options;
  if (fusedActive() && logits.dtype === 'float32' && targets.dtype === 'float32') {
    return fusedAslElements(logits, targets, { gammaNeg: gamma_neg, gammaPos: gamma_pos, clip, eps, stopGradientFocusing: options.stopGradientFocusing });
  }
  const logP = flooredLogSigmoid(logits, eps);
  const oneMinusP = sigmoid(tf.neg(logits));
  // With a clip the shifted probability is at least clip > 0, so its log is safe to take directly.
  const logPNeg =
    clip > 0 ? tf.log(tf.maximum(tf.minimum(tf.add(oneMinusP, clip), 1), eps)) : flooredLogSigmoid(tf.neg(logits), eps);
  // 1 - p_neg = max(p - clip, 0), computed from p itself rather than as 1 minus something near 1.
  let focusPos = focusingWeight(oneMinusP, gamma_pos);
  let focusNeg = focusingWeight(tf.relu(tf.sub(sigmoid(logits), clip)), gamma_neg);
  if (options.stopGradientFocusing) {
    focusPos = stopGradient(focusPos);
    focusNeg = stopGradient(focusNeg);
  }
  const positive = tf.mul(tf.mul(targets, logP), focusPos);
  const negative = tf.mul(tf.mul(tf.sub(1, targets), logPNeg), focusNeg);
  return tf.neg(tf.add(positive, negative));
}

export const asl = defineLoss({
  name: 'asl',
  description: 'asymmetric loss for multi-label classification (Ridnik et al., ICCV 2021): focusing + probability clip on negatives',
  accepts: ['binary'],
  schema: aslOptions,
  targetShape: 'logits',
  elements: aslElements,
});
