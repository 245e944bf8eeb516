import type * as tfType from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import { createLoss, losses } from '../../src/losses/registry.ts';
import type { Loss, OutputKind } from '../../src/losses/types.ts';
import { useBackend } from '../helpers/backend.ts';
import { extremeLogits, logitWidth, randomLogits, randomTargets, valueAndGrad } from './inputs.ts';

/** Every registered loss, checked on every output kind it accepts, with no per-loss code here. */
let tf: typeof tfType;
beforeAll(async () => {
  tf = await useBackend();
});

// Two patients of three slices; the second is padded after its first slice.
const rows: [number, number] = [2, 3];
const slicesMask = [1, 1, 1, 1, 0, 0];
const padded = [false, false, false, false, true, true];

function lossesWithKinds(): Array<{ name: string; kind: OutputKind }> {
  return losses.names().flatMap((name) => createLoss({ name }).accepts.map((kind) => ({ name, kind })));
}

/** Elements one unmasked row adds to the mean's count: categorical-ce has one per row, the others one per logit. */
function elementsPerRow(loss: Loss, kind: OutputKind): number {
  const oneRow = tf.tidy(() => {
    const logits = tf.fill([1, logitWidth(kind)], 0.5);
    const targets = randomTargets(kind, [1], Rng.derive(0, 'count'));
    return [loss.compute(logits, targets).dataSync()[0], createLoss({ name: loss.name, reduction: 'sum' }).compute(logits, targets).dataSync()[0]];
  });
  return Math.round(oneRow[1] / oneRow[0]);
}

test('the registry holds the losses the criterion defaults to and the ablations', () => {
  expect(losses.names().sort()).toEqual(['asl', 'bce', 'categorical-ce', 'cumulative-bce', 'focal', 'mae', 'mse']);
});

test('unknown loss names and options are errors that name them', () => {
  expect(() => createLoss({ name: 'dice' })).toThrow(/unknown loss 'dice'.*asl/);
  expect(() => createLoss({ name: 'bce', smoothing: 0.1 }, 'experiment.loss')).toThrow(/experiment\.loss 'bce'[\s\S]*smoothing/);
});

for (const { name, kind } of lossesWithKinds()) {
  describe(`${name} on ${kind} outputs`, () => {
    for (const reduction of ['sum', 'mean'] as const) {
      test(`${reduction}: finite values and gradients at logits of ±20 and ±100, no leaked tensors`, () => {
        const rng = Rng.derive(5, name, kind, reduction);
        const loss = createLoss({ name, reduction });
        const logits = randomLogits(kind, rows, rng, extremeLogits);
        const targets = randomTargets(kind, rows, rng);
        const mask = tf.tensor2d(slicesMask, rows);
        const before = tf.memory().numTensors;
        for (const weights of [undefined, mask]) {
          const { value, grad } = valueAndGrad((x) => loss.compute(x, targets, weights), logits);
          expect(Number.isFinite(value), `value ${value}`).toBe(true);
          expect(value).toBeGreaterThanOrEqual(0);
          expect(grad.every(Number.isFinite)).toBe(true);
        }
        const scalar = loss.compute(logits, targets, mask);
        scalar.dispose();
        expect(tf.memory().numTensors).toBe(before);
        tf.dispose([logits, targets, mask]);
      });
    }

    test('padded slices change nothing: neither the value nor the other gradients, and get no gradient', () => {
      const rng = Rng.derive(6, name, kind);
      const loss = createLoss({ name, reduction: 'mean' });
      const width = logitWidth(kind);
      const logits = randomLogits(kind, rows, rng);
      const targets = randomTargets(kind, rows, rng);
      const mask = tf.tensor2d(slicesMask, rows);
      // Same real slices, different garbage in the padded ones (logits and targets).
      const noise = tf.tidy(() => tf.mul(randomLogits(kind, rows, rng, extremeLogits), tf.sub(1, mask).expandDims(-1)));
      const otherLogits = tf.add(logits, noise);
      const otherTargets = tf.tidy(() => {
        const keep = mask.expandDims(-1);
        return tf.add(tf.mul(targets, keep), tf.mul(randomTargets(kind, rows, rng), tf.sub(1, keep)));
      });
      const first = valueAndGrad((x) => loss.compute(x, targets, mask), logits);
      const second = valueAndGrad((x) => loss.compute(x, otherTargets, mask), otherLogits);
      expect(second.value).toBeCloseTo(first.value, 6);
      padded.forEach((isPadded, row) => {
        for (let c = 0; c < width; c++) {
          const i = row * width + c;
          if (isPadded) {
            expect(Math.abs(first.grad[i])).toBe(0);
            expect(Math.abs(second.grad[i])).toBe(0);
          } else {
            expect(second.grad[i]).toBeCloseTo(first.grad[i], 7);
          }
        }
      });
      tf.dispose([logits, targets, mask, noise, otherLogits, otherTargets]);
    });

    test('mean is the sum over the number of unmasked elements; a full mask of ones equals no mask', () => {
      const rng = Rng.derive(7, name, kind);
      const sumLoss = createLoss({ name, reduction: 'sum' });
      const meanLoss = createLoss({ name, reduction: 'mean' });
      const logits = randomLogits(kind, rows, rng);
      const targets = randomTargets(kind, rows, rng);
      const mask = tf.tensor2d(slicesMask, rows);
      const ones = tf.onesLike(mask);
      const perRow = elementsPerRow(meanLoss, kind);
      const unmaskedRows = slicesMask.reduce((a, b) => a + b, 0);
      const sum = valueAndGrad((x) => sumLoss.compute(x, targets, mask), logits);
      const mean = valueAndGrad((x) => meanLoss.compute(x, targets, mask), logits);
      expect(mean.value * unmaskedRows * perRow).toBeCloseTo(sum.value, 4);
      mean.grad.forEach((g, i) => expect(g * unmaskedRows * perRow).toBeCloseTo(sum.grad[i], 5));
      const unmasked = valueAndGrad((x) => meanLoss.compute(x, targets), logits);
      const allOnes = valueAndGrad((x) => meanLoss.compute(x, targets, ones), logits);
      expect(allOnes.value).toBeCloseTo(unmasked.value, 6);
      tf.dispose([logits, targets, mask, ones]);
    });

    test('everything masked gives 0 with zero gradients, and misshapen weights are errors', () => {
      const rng = Rng.derive(8, name, kind);
      const loss = createLoss({ name, reduction: 'mean' });
      const logits = randomLogits(kind, rows, rng);
      const targets = randomTargets(kind, rows, rng);
      const none = tf.zeros(rows);
      const { value, grad } = valueAndGrad((x) => loss.compute(x, targets, none), logits);
      expect(value).toBe(0);
      expect(grad.every((g) => g === 0)).toBe(true);
      const wrong = tf.ones([3, 2]);
      expect(() => loss.compute(logits, targets, wrong)).toThrow(new RegExp(`${name}: weights of shape \\[3,2\\]`));
      const wrongTargets = tf.ones([2, 3, logitWidth(kind) + 1]);
      expect(() => loss.compute(logits, wrongTargets)).toThrow(new RegExp(`${name}: `));
      tf.dispose([logits, targets, none, wrong, wrongTargets]);
    });
  });
}
