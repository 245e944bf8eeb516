import * as tf from '@tensorflow/tfjs';
import { regressionLoss } from './regression.ts';

export const mse = regressionLoss('mse', 'mean squared error between predicted and true ordinal grades', (predicted, grades) =>
  tf.squaredDifference(predicted, grades),
);
