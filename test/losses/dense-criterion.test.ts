import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseDenseOrdinalGroup, type DenseOrdinalGroup } from '../../src/labels/dense-ordinal.ts';
import { buildDenseCriterion } from '../../src/losses/dense-criterion.ts';
import { useBackend } from '../helpers/backend.ts';

/**
 * The dense criterion against the formulas by hand on 2 slices × 1 × 2 pixels × 2 types: grade 255 marks an
 * unlabelled pixel, and the second slice is padding (mask 0), so only its labelled, real pixels count.
 */
const base = { kind: 'dense-ordinal', name: 'damage', classes: ['a', 'b'], levels: 3 } as const;
// [batch 1, slices 2, H 1, W 2, types 2]
const grades = [0, 2, 255, 1, /* padded slice: */ 2, 2, 2, 2];
const mask = [1, 0];
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

function loss(group: DenseOrdinalGroup, logits: number[], config = {}): number {
  const width = logits.length / 4;
  return tf.tidy(() => {
    const criterion = buildDenseCriterion(group, config);
    const result = criterion(tf.tensor(logits, [1, 2, 1, 2, width]), tf.tensor(grades, [1, 2, 1, 2, 2]), tf.tensor2d(mask, [1, 2]));
    return result.total.dataSync()[0];
  });
}

beforeAll(async () => {
  await useBackend();
});

describe('dense-ordinal criterion', () => {
  const regression = parseDenseOrdinalGroup(base);
  const outputs = [0.5, 1.0, 7, 1.5, /* padded: */ 9, 9, 9, 9];

  it('MAE (the default) and MSE average over labelled pixels of real slices', () => {
    // Labelled: (0 vs 0.5), (2 vs 1.0), (1 vs 1.5); the 255 pixel and the padded slice do not count.
    expect(loss(regression, outputs)).toBeCloseTo((0.5 + 1 + 0.5) / 3, 6);
    expect(loss(regression, outputs, { groups: { damage: { loss: { name: 'mse' }, weight: 2 } } })).toBeCloseTo((2 * (0.25 + 1 + 0.25)) / 3, 6);
  });

  it('cumulative logits: binary cross-entropy of P(grade > k) per labelled pixel and step', () => {
    const group = parseDenseOrdinalGroup({ ...base, mode: 'cumulative' });
    // Two logits per type: [0.2, -1] for grade 0, [1, 0.5] for grade 2, skip, [0.3, -0.4] for grade 1.
    const logits = [0.2, -1, 1, 0.5, 5, 5, 0.3, -0.4, ...new Array<number>(8).fill(3)];
    const bce = (x: number, y: number) => -(y * Math.log(sigmoid(x)) + (1 - y) * Math.log(1 - sigmoid(x)));
    const expected = (bce(0.2, 0) + bce(-1, 0) + bce(1, 1) + bce(0.5, 1) + bce(0.3, 1) + bce(-0.4, 0)) / 6;
    expect(loss(group, logits)).toBeCloseTo(expected, 5);
  });

  it('joint softmax: cross-entropy of the combination, only where every type is labelled', () => {
    const group = parseDenseOrdinalGroup({ ...base, mode: 'joint' });
    const first = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
    const logits = [...first, ...new Array<number>(9).fill(1), ...new Array<number>(18).fill(2)];
    // Pixel 1: grades (0, 2) → joint class 0·3 + 2 = 2; pixel 2 has an unlabelled type and does not count.
    const logSumExp = Math.log(first.reduce((sum, x) => sum + Math.exp(x), 0));
    expect(loss(group, logits)).toBeCloseTo(logSumExp - first[2], 5);
  });

  it('refuses a loss that does not fit the mode, and groups it does not know', () => {
    expect(() => buildDenseCriterion(regression, { groups: { damage: { loss: { name: 'asl' } } } }, 'loss')).toThrow(
      /loss.groups.damage.loss: loss 'asl' does not fit ordinal-regression group 'damage'.*losses for ordinal-regression: mse, mae/,
    );
    expect(() => buildDenseCriterion(regression, { groups: { other: {} } }, 'loss')).toThrow(/loss.groups: unknown group 'other'; the dense-ordinal group is 'damage'/);
  });

  it('refuses an ignore value that is a grade, naming the field', () => {
    expect(() => parseDenseOrdinalGroup({ ...base, ignoreValue: 2 })).toThrow(/ignoreValue.*2 is a grade/);
  });
});
