import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { Registry } from '../core/registry.ts';
import { FlatAdamOptimizer } from './flat-adam.ts';
import { FlatMomentumOptimizer } from './flat-momentum.ts';
import { FlatRMSPropOptimizer } from './flat-rmsprop.ts';

/**
 * An optimizer plus what tfjs does not give: a settable learning rate, decoupled weight decay (AdamW-style) and
 * a learning-rate multiplier for the backbone's weights (a parameter group, e.g. 0.1 to fine-tune pretrained
 * weights slower than the sequence model learns).
 */
export interface TrainingOptimizer {
  optimizer: tf.Optimizer;
  baseLearningRate: number;
  weightDecay: number;
  /** The backbone's learning rate (and weight decay step) relative to the rest; 1 without `groups.backbone`. */
  backboneLrMultiplier: number;
  setLearningRate(rate: number): void;
}

export const optimizers = new Registry<void, TrainingOptimizer>('optimizer');

/** tfjs keeps the rate in a (TS-protected) field that Adam-family optimizers read every step; SGD caches a tensor. */
function wrap(optimizer: tf.Optimizer, common: CommonOptions): TrainingOptimizer {
  const settable = optimizer as unknown as { learningRate: number; setLearningRate?: (rate: number) => void };
  return {
    optimizer,
    baseLearningRate: common.lr,
    weightDecay: common.weightDecay,
    backboneLrMultiplier: common.groups?.backbone?.lrMultiplier ?? 1,
    setLearningRate(rate: number) {
      if (typeof settable.setLearningRate === 'function') settable.setLearningRate(rate);
      else settable.learningRate = rate;
    },
  };
}

const common = {
  lr: z.number().positive().default(1e-3),
  weightDecay: z.number().min(0).default(0),
  /**
   * Parameter groups: `{ backbone: { lrMultiplier: 0.1 } }` scales each step of the backbone's weights (and its
   * weight decay), the same as a learning rate of lr × multiplier for them.
   */
  groups: z.object({ backbone: z.object({ lrMultiplier: z.number().positive() }).strict().optional() }).strict().optional(),
};

interface CommonOptions {
  lr: number;
  weightDecay: number;
  groups?: { backbone?: { lrMultiplier: number } };
}

optimizers.register({
  name: 'adam',
  description: 'Adam (with decoupled weight decay when weightDecay > 0, i.e. AdamW)',
  schema: z.object({ ...common, beta1: z.number().min(0).max(1).default(0.9), beta2: z.number().min(0).max(1).default(0.999), epsilon: z.number().positive().default(1e-7) }),
  // tfjs's Adam; on the native backend one kernel for all variables (flat-adam.ts), the same numbers.
  create: (c) => wrap(new FlatAdamOptimizer(c.lr, c.beta1, c.beta2, c.epsilon), c),
});

optimizers.register({
  name: 'sgd',
  description: 'SGD, with momentum (and Nesterov) when momentum > 0',
  schema: z.object({ ...common, lr: z.number().positive().default(1e-2), momentum: z.number().min(0).max(1).default(0), nesterov: z.boolean().default(false) }),
  // With momentum, tfjs's; on the native backend one kernel for all variables (flat-momentum.ts), the same numbers.
  create: (c) => wrap(c.momentum > 0 ? new FlatMomentumOptimizer(c.lr, c.momentum, c.nesterov) : tf.train.sgd(c.lr), c),
});

optimizers.register({
  name: 'rmsprop',
  description: 'RMSProp',
  // tfjs' RMSProp momentum accumulates lr-scaled steps, so a backbone multiplier would not equal a lower rate there.
  schema: z
    .object({ ...common, decay: z.number().min(0).max(1).default(0.9), momentum: z.number().min(0).max(1).default(0) })
    .refine((c) => !(c.momentum > 0 && c.groups?.backbone), { message: 'groups.backbone needs momentum 0 with rmsprop', path: ['groups'] }),
  // tfjs's RMSProp; on the native backend one kernel for all variables (flat-rmsprop.ts), the same numbers.
  create: (c) => wrap(new FlatRMSPropOptimizer(c.lr, c.decay, c.momentum), c),
});

export type OptimizerConfig = { name: string } & Record<string, unknown>;

export function createOptimizer(config: OptimizerConfig): TrainingOptimizer {
  return optimizers.create(config, undefined, 'optimizer');
}
