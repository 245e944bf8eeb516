import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { Registry } from '../core/registry.ts';

/** An optimizer plus what tfjs does not give: a settable learning rate and decoupled weight decay (AdamW-style). */
export interface TrainingOptimizer {
  optimizer: tf.Optimizer;
  baseLearningRate: number;
  weightDecay: number;
  setLearningRate(rate: number): void;
}

export const optimizers = new Registry<void, TrainingOptimizer>('optimizer');

/** tfjs keeps the rate in a (TS-protected) field that Adam-family optimizers read every step; SGD caches a tensor. */
function wrap(optimizer: tf.Optimizer, learningRate: number, weightDecay: number): TrainingOptimizer {
  const settable = optimizer as unknown as { learningRate: number; setLearningRate?: (rate: number) => void };
  return {
    optimizer,
    baseLearningRate: learningRate,
    weightDecay,
    setLearningRate(rate: number) {
      if (typeof settable.setLearningRate === 'function') settable.setLearningRate(rate);
      else settable.learningRate = rate;
    },
  };
}

const common = {
  lr: z.number().positive().default(1e-3),
  weightDecay: z.number().min(0).default(0),
};

optimizers.register({
  name: 'adam',
  description: 'Adam (with decoupled weight decay when weightDecay > 0, i.e. AdamW)',
  schema: z.object({ ...common, beta1: z.number().min(0).max(1).default(0.9), beta2: z.number().min(0).max(1).default(0.999), epsilon: z.number().positive().default(1e-7) }),
  create: (c) => wrap(tf.train.adam(c.lr, c.beta1, c.beta2, c.epsilon), c.lr, c.weightDecay),
});

optimizers.register({
  name: 'sgd',
  description: 'SGD, with momentum (and Nesterov) when momentum > 0',
  schema: z.object({ ...common, lr: z.number().positive().default(1e-2), momentum: z.number().min(0).max(1).default(0), nesterov: z.boolean().default(false) }),
  create: (c) => wrap(c.momentum > 0 ? tf.train.momentum(c.lr, c.momentum, c.nesterov) : tf.train.sgd(c.lr), c.lr, c.weightDecay),
});

optimizers.register({
  name: 'rmsprop',
  description: 'RMSProp',
  schema: z.object({ ...common, decay: z.number().min(0).max(1).default(0.9), momentum: z.number().min(0).max(1).default(0) }),
  create: (c) => wrap(tf.train.rmsprop(c.lr, c.decay, c.momentum), c.lr, c.weightDecay),
});

export type OptimizerConfig = { name: string } & Record<string, unknown>;

export function createOptimizer(config: OptimizerConfig): TrainingOptimizer {
  return optimizers.create(config, undefined, 'optimizer');
}
