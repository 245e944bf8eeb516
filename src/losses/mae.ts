import * as tf from '@tensorflow/tfjs';
import { regressionLoss } from './regression.ts';

/** |d| with gradient sign(d): 0 at d = 0 like torch's l1_loss (tfjs's abs gives -1 there). */
const absoluteValue = tf.customGrad((...inputs) => {
  const [difference, save] = inputs as [tf.Tensor, tf.GradSaveFunc];
  // Saved, not captured: an enclosing tidy disposes `difference` before the backward pass.
  save([difference]);
  return { value: tf.abs(difference), gradFunc: (dy: tf.Tensor, [saved]: tf.Tensor[]) => tf.mul(dy, tf.sign(saved)) };
}) as (difference: tf.Tensor) => tf.Tensor;

export const mae = regressionLoss('mae', 'mean absolute error between predicted and true ordinal grades', (predicted, grades) =>
  absoluteValue(tf.sub(predicted, grades)),
);
