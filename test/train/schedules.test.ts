import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { createSchedule } from '../../src/train/schedules.ts';
import { createOptimizer } from '../../src/train/optimizers.ts';
import { useBackend } from '../helpers/backend.ts';

const at = (name: string, options: Record<string, unknown>, epoch: number, history: number[] = []) =>
  createSchedule({ name, ...options })({ epoch, epochs: 10, baseLearningRate: 0.1, history });

describe('learning-rate schedules', () => {
  it('cosine decays from the base rate to minLr after a linear warm-up', () => {
    expect(at('cosine', { warmupEpochs: 1 }, 0)).toBeCloseTo(0.05);
    expect(at('cosine', { warmupEpochs: 1 }, 1)).toBeCloseTo(0.1);
    expect(at('cosine', { minLr: 0.01 }, 5)).toBeCloseTo(0.01 + 0.5 * 0.09);
    expect(at('cosine', {}, 10)).toBeCloseTo(0);
  });

  it('step multiplies by gamma every stepEpochs', () => {
    expect(at('step', { stepEpochs: 3, gamma: 0.5 }, 2)).toBeCloseTo(0.1);
    expect(at('step', { stepEpochs: 3, gamma: 0.5 }, 6)).toBeCloseTo(0.025);
  });

  it('on-plateau lowers the rate after `patience` epochs without improvement, replaying the history', () => {
    const options = { patience: 2, factor: 0.5, minLr: 0.03 };
    expect(at('plateau', options, 3, [0.5, 0.6, 0.7])).toBeCloseTo(0.1);
    expect(at('plateau', options, 3, [0.5, 0.4, 0.45])).toBeCloseTo(0.05);
    expect(at('plateau', options, 5, [0.5, 0.4, 0.45, 0.3, 0.2])).toBeCloseTo(0.03); // floored at minLr
  });

  it('rejects unknown options, naming them', () => {
    expect(() => createSchedule({ name: 'cosine', warmup: 1 })).toThrow(/warmup/);
  });
});

describe('optimizers', () => {
  beforeAll(() => useBackend());

  it('set the learning rate each step for Adam and SGD alike', () => {
    for (const name of ['adam', 'sgd']) {
      const training = createOptimizer({ name, lr: 0.1 });
      const weight = tf.variable(tf.scalar(1));
      const step = () => training.optimizer.minimize(() => tf.mul(weight, 2) as tf.Scalar);
      training.setLearningRate(0);
      step();
      expect(weight.dataSync()[0]).toBe(1);
      training.setLearningRate(0.1);
      step();
      expect(weight.dataSync()[0]).toBeLessThan(1);
      weight.dispose();
      training.optimizer.dispose();
    }
  });
});
