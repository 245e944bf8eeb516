import type * as tfType from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import { aslElements, type AslOptions } from '../../src/losses/asl.ts';
import { createLoss, losses } from '../../src/losses/registry.ts';
import { useBackend } from '../helpers/backend.ts';
import { extremeLogits, randomLogits, randomTargets, valueAndGrad } from './inputs.ts';

let tf: typeof tfType;
beforeAll(async () => {
  tf = await useBackend();
});

function expectAllClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) {
    expect(Math.abs(actual[i] - expected[i]), `[${i}] ${actual[i]} vs ${expected[i]}`).toBeLessThanOrEqual(rtol * Math.abs(expected[i]) + atol);
  }
}

describe('asl', () => {
  test('with gamma 0 and clip 0 it is binary cross-entropy (everywhere with eps 0, inside the eps floor otherwise)', () => {
    const rng = Rng.derive(1, 'asl-bce');
    const bce = createLoss({ name: 'bce', reduction: 'sum' });
    const cases = [
      { eps: 0, logits: randomLogits('binary', [6], rng, [...extremeLogits, -3, 0, 3]) },
      { eps: 1e-8, logits: randomLogits('binary', [6], rng, undefined, 4) },
    ];
    for (const { eps, logits } of cases) {
      const targets = randomTargets('binary', [6], rng);
      const asl = createLoss({ name: 'asl', gamma_neg: 0, gamma_pos: 0, clip: 0, eps });
      const ours = valueAndGrad((x) => asl.compute(x, targets), logits);
      const reference = valueAndGrad((x) => bce.compute(x, targets), logits);
      expectAllClose([ours.value], [reference.value], 1e-6, 0);
      expectAllClose(ours.grad, reference.grad, 1e-6, 1e-9);
      tf.dispose([logits, targets]);
    }
  });

  test('the eps floor caps each element at -log(eps), as the reference clamp does', () => {
    const asl = createLoss({ name: 'asl', gamma_neg: 0, gamma_pos: 0, clip: 0 });
    const logits = tf.tensor2d([[-100, 100]]);
    const targets = tf.tensor2d([[1, 0]]);
    const { value, grad } = valueAndGrad((x) => asl.compute(x, targets), logits);
    expect(value).toBeCloseTo(-2 * Math.log(1e-8), 4);
    expect([...grad]).toEqual([0, 0]);
    tf.dispose([logits, targets]);
  });

  test('is never negative, element by element, on random and extreme logits, for several settings', () => {
    const rng = Rng.derive(2, 'asl-nonnegative');
    const settings = [{}, { gamma_neg: 0, gamma_pos: 0, clip: 0 }, { gamma_neg: 2, gamma_pos: 0.5, clip: 0.3, eps: 0 }];
    for (const options of settings) {
      const resolved = losses.resolve('asl', options) as AslOptions;
      for (const pool of [undefined, extremeLogits]) {
        const logits = randomLogits('binary', [200], rng, pool, 5);
        const targets = randomTargets('binary', [200], rng);
        const elements = tf.tidy(() => aslElements(logits, targets, resolved).dataSync());
        expect(elements.every((value) => Number.isFinite(value) && value >= 0)).toBe(true);
        tf.dispose([logits, targets]);
      }
    }
  });

  test('stopGradientFocusing keeps the value and changes the gradient', () => {
    const rng = Rng.derive(3, 'asl-stop-gradient');
    const logits = randomLogits('binary', [8], rng);
    const targets = randomTargets('binary', [8], rng);
    const focused = valueAndGrad((x) => createLoss({ name: 'asl' }).compute(x, targets), logits);
    const stopped = valueAndGrad((x) => createLoss({ name: 'asl', stopGradientFocusing: true }).compute(x, targets), logits);
    expect(stopped.value).toBe(focused.value);
    const largestChange = Math.max(...stopped.grad.map((g, i) => Math.abs(g - focused.grad[i])));
    expect(largestChange).toBeGreaterThan(1e-3);
    tf.dispose([logits, targets]);
  });

  test('the paper default is reduction sum; mean divides by the element count', () => {
    const rng = Rng.derive(4, 'asl-reduction');
    const logits = randomLogits('binary', [5], rng);
    const targets = randomTargets('binary', [5], rng);
    expect(createLoss({ name: 'asl' }).reduction).toBe('sum');
    const sum = valueAndGrad((x) => createLoss({ name: 'asl' }).compute(x, targets), logits);
    const mean = valueAndGrad((x) => createLoss({ name: 'asl', reduction: 'mean' }).compute(x, targets), logits);
    expect(mean.value).toBeCloseTo(sum.value / 15, 6);
    expectAllClose(mean.grad, sum.grad.map((g) => g / 15), 1e-6, 1e-9);
    tf.dispose([logits, targets]);
  });

  test('options are validated by name', () => {
    expect(() => createLoss({ name: 'asl', gamma_negative: 4 })).toThrow(/gamma_negative/);
    expect(() => createLoss({ name: 'asl', clip: 1e-9 })).toThrow(/clip/);
    expect(() => createLoss({ name: 'asl', gamma_neg: -1 })).toThrow(/gamma_neg/);
    expect(() => createLoss({ name: 'asl', reduction: 'none' })).toThrow(/reduction/);
  });
});
