import type * as tfType from '@tensorflow/tfjs';
import { beforeAll, expect, test } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import { binarySchema } from '../../src/labels/schema.ts';
import { buildModel } from '../../src/models/build.ts';
import { useBackend } from '../helpers/backend.ts';
import { paddedBatch } from './model-checks.ts';

let tf: typeof tfType;
beforeAll(async () => {
  tf = await useBackend();
});

test('small-vgg → gru → lstm decoder overfits a tiny batch on wasm (loss falls by 90%)', () => {
  const classes = ['a', 'b', 'c'];
  const model = buildModel(
    { backbone: { name: 'small-vgg', channels: [8, 16], convsPerBlock: 1 }, encoder: { name: 'gru', hidden: 16 }, decoder: { name: 'lstm', hidden: 8 } },
    { schema: binarySchema(classes), rng: new Rng(21), inputShape: { slices: 4, height: 16, width: 16, channels: 3 }, level: 'patient' },
  );
  const { inputs, mask } = paddedBatch(new Rng(22), [4, 4, 3, 2], 4, [16, 16, 3]);
  const targets = tf.tensor2d([
    [1, 0, 0],
    [0, 1, 1],
    [1, 1, 0],
    [0, 0, 1],
  ]);
  const optimizer = tf.train.adam(0.01);
  const lossOf = () => tf.losses.sigmoidCrossEntropy(targets, model.apply([inputs, mask], { training: true }) as tfType.Tensor) as tfType.Scalar;
  const initial = tf.tidy(() => lossOf().dataSync()[0]);
  let loss = initial;
  for (let step = 0; step < 200 && loss > 0.1 * initial; step++) {
    const value = optimizer.minimize(lossOf, true)!;
    loss = value.dataSync()[0];
    value.dispose();
  }
  expect(Number.isFinite(loss)).toBe(true);
  expect(loss).toBeLessThan(0.1 * initial);
  optimizer.dispose();
  tf.dispose([inputs, mask, targets]);
  model.dispose();
});
