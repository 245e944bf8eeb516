import * as tf from '@tensorflow/tfjs';
import { glorotUniform } from './initializers.ts';

/** A Dense layer with a seeded kernel initializer. `swish` is SiLU (x·sigmoid(x)). */
export function seededDense(name: string, units: number, seed: number, activation: 'linear' | 'swish' | 'relu' = 'linear'): tf.layers.Layer {
  return tf.layers.dense({ name, units, activation, kernelInitializer: glorotUniform(seed) });
}
