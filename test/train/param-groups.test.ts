import type * as tfType from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import { binarySchema } from '../../src/labels/schema.ts';
import { buildCriterion } from '../../src/losses/criterion.ts';
import { buildModel } from '../../src/models/build.ts';
import { createOptimizer } from '../../src/train/optimizers.ts';
import { trainStep } from '../../src/train/step.ts';
import { useBackend } from '../helpers/backend.ts';

let tf: typeof tfType;
beforeAll(async () => {
  tf = await useBackend('wasm');
});

const schema = binarySchema(['a', 'b']);

/** Each weight's change over one step, from the same start, with the optimizer config given. */
function stepDeltas(optimizerConfig: { name: string } & Record<string, unknown>): Map<string, Float32Array> {
  const model = buildModel(
    { backbone: { name: 'small-vgg', channels: [3, 4] }, encoder: { name: 'gru', hidden: 3 }, decoder: { name: 'dense' } },
    { schema, rng: new Rng(1), inputShape: { height: 8, width: 8, channels: 1 }, level: 'patient' },
  );
  const criterion = buildCriterion(schema, { groups: { labels: { loss: { name: 'bce' }, weight: 1 } } });
  const optimizer = createOptimizer(optimizerConfig);
  const before = model.trainableWeights.map((w) => w.read().dataSync().slice() as Float32Array);
  const batch = { images: tf.randomNormal([2, 3, 8, 8, 1], 0, 1, 'float32', 3), mask: tf.ones([2, 3]) as tfType.Tensor2D, targets: tf.tensor2d([[1, 0], [0, 1]]) };
  trainStep(model, criterion, optimizer, batch, { learningRate: Number(optimizerConfig.lr) });
  const deltas = new Map(model.trainableWeights.map((w, i) => [w.originalName, w.read().dataSync().map((v, j) => v - before[i][j]) as Float32Array]));
  tf.dispose(Object.values(batch));
  optimizer.optimizer.dispose();
  model.dispose();
  return deltas;
}

describe('optimizer parameter groups', () => {
  test.each(['sgd', 'adam'])('%s: groups.backbone.lrMultiplier scales the backbone’s steps only', (name) => {
    const plain = stepDeltas({ name, lr: 0.01 });
    const grouped = stepDeltas({ name, lr: 0.01, weightDecay: 0, groups: { backbone: { lrMultiplier: 0.25 } } });
    let backbone = 0;
    for (const [weight, delta] of plain) {
      const isBackbone = weight.startsWith('block');
      if (isBackbone) backbone++;
      const ratio = isBackbone ? 0.25 : 1;
      const moved = Array.from(delta).findIndex((v) => Math.abs(v) > 1e-6);
      expect(moved, weight).toBeGreaterThanOrEqual(0);
      Array.from(delta).forEach((v, i) => expect(grouped.get(weight)![i], weight).toBeCloseTo(v * ratio, 6));
    }
    expect(backbone).toBe(8);
  });

  test('rmsprop with momentum refuses a backbone group, naming the field', () => {
    expect(() => createOptimizer({ name: 'rmsprop', momentum: 0.9, groups: { backbone: { lrMultiplier: 0.1 } } })).toThrow(/groups.*momentum 0/s);
    expect(() => createOptimizer({ name: 'adam', groups: { head: { lrMultiplier: 0.1 } } })).toThrow(/head/);
  });
});
