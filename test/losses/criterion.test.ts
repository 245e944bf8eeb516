import type * as tfType from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import { parseLabelSchema, totalOutputWidth, totalTargetWidth } from '../../src/labels/schema.ts';
import { buildCriterion } from '../../src/losses/criterion.ts';
import { createLoss } from '../../src/losses/registry.ts';
import type { OutputKind } from '../../src/losses/types.ts';
import { useBackend } from '../helpers/backend.ts';
import { randomLogits, randomTargets, valueAndGrad } from './inputs.ts';

let tf: typeof tfType;
beforeAll(async () => {
  tf = await useBackend();
});

/**
 * One group of every kind, each with the 3 classes (and 4 levels) of the test inputs. The cumulative group
 * comes early so that the later groups' output offsets differ from their target offsets.
 */
const schema = parseLabelSchema({
  groups: [
    { kind: 'binary', name: 'hemorrhage', classes: ['epidural', 'subdural', 'subarachnoid'] },
    { kind: 'ordinal', name: 'stage', classes: ['left', 'right', 'centre'], levels: 4, mode: 'cumulative' },
    { kind: 'categorical', name: 'liver', classes: ['healthy', 'low', 'high'], labelSmoothing: 0.1 },
    { kind: 'ordinal', name: 'damage', classes: ['bowel', 'kidney', 'spleen'], levels: 4 },
  ],
  noFinding: 'none',
});
const kinds: Record<string, OutputKind> = {
  hemorrhage: 'binary',
  stage: 'ordinal-cumulative',
  liver: 'categorical',
  damage: 'ordinal-regression',
};
const groupNames = Object.keys(kinds);

/** Per-group logits and targets built separately, and the flat rows made by concatenating them. */
function mixedInputs(rows: number[], seed: number) {
  const rng = Rng.derive(seed, 'criterion');
  const logits = groupNames.map((group) => randomLogits(kinds[group], rows, rng));
  const targets = groupNames.map((group) => randomTargets(kinds[group], rows, rng));
  const flatLogits = tf.concat(logits, -1);
  const flatTargets = tf.concat(targets, -1);
  return { logits, targets, flatLogits, flatTargets, dispose: () => tf.dispose([...logits, ...targets, flatLogits, flatTargets]) };
}

test('the test schema lays out as the concatenation of its groups', () => {
  expect(totalOutputWidth(schema)).toBe(3 + 9 + 3 + 3);
  expect(totalTargetWidth(schema)).toBe(12);
});

test('defaults per group kind: ASL, categorical CE with the group smoothing, MSE, cumulative BCE', () => {
  const criterion = buildCriterion(schema);
  expect(criterion.objectives.map((o) => [o.span.group.name, o.lossConfig, o.weight])).toEqual([
    ['hemorrhage', { name: 'asl', gamma_neg: 4, gamma_pos: 1, clip: 0.05, eps: 1e-8, reduction: 'sum', stopGradientFocusing: false }, 1],
    ['stage', { name: 'cumulative-bce', reduction: 'mean' }, 1],
    ['liver', { name: 'categorical-ce', labelSmoothing: 0.1, reduction: 'mean' }, 1],
    ['damage', { name: 'mse', reduction: 'mean' }, 1],
  ]);
  // Naming the default loss keeps the group's smoothing unless overridden.
  const named = buildCriterion(schema, { groups: { liver: { loss: { name: 'categorical-ce', reduction: 'sum' } } } });
  expect(named.objectives[2].lossConfig).toEqual({ name: 'categorical-ce', labelSmoothing: 0.1, reduction: 'sum' });
});

describe('slices each group from the flat rows', () => {
  const config = {
    groups: {
      hemorrhage: { loss: { name: 'focal', gamma: 1 }, weight: 0.5 },
      liver: { weight: 2 },
      damage: { loss: { name: 'mae' } },
    },
  };
  const expectedLosses = {
    hemorrhage: createLoss({ name: 'focal', gamma: 1 }),
    liver: createLoss({ name: 'categorical-ce', labelSmoothing: 0.1 }),
    damage: createLoss({ name: 'mae' }),
    stage: createLoss({ name: 'cumulative-bce' }),
  } as const;
  const weights = { hemorrhage: 0.5, liver: 2, damage: 1, stage: 1 };

  for (const level of ['patient', 'slice'] as const) {
    test(`${level} level`, () => {
      const rows = level === 'patient' ? [5] : [2, 3];
      const inputs = mixedInputs(rows, level === 'patient' ? 1 : 2);
      const mask = level === 'slice' ? tf.tensor2d([1, 1, 1, 1, 1, 0], [2, 3]) : undefined;
      const criterion = buildCriterion(schema, config);
      const before = tf.memory().numTensors;
      const { total, perGroup } = criterion(inputs.flatLogits, inputs.flatTargets, mask);
      let expectedTotal = 0;
      groupNames.forEach((group, g) => {
        const name = group as keyof typeof expectedLosses;
        const expected = tf.tidy(() => expectedLosses[name].compute(inputs.logits[g], inputs.targets[g], mask).dataSync()[0]);
        expect(perGroup[group].dataSync()[0], group).toBeCloseTo(expected, 5);
        expectedTotal += weights[name] * expected;
      });
      expect(total.dataSync()[0]).toBeCloseTo(expectedTotal, 4);
      tf.dispose([total, ...Object.values(perGroup)]);
      expect(tf.memory().numTensors).toBe(before);
      inputs.dispose();
      mask?.dispose();
    });
  }
});

test('padded slices change neither the total nor its gradient on real slices, and training leaks no tensors', () => {
  const criterion = buildCriterion(schema);
  const inputs = mixedInputs([2, 3], 3);
  const mask = tf.tensor2d([1, 1, 0, 1, 0, 0], [2, 3]);
  const realRow = tf.tensor3d([1, 1, 0, 1, 0, 0], [2, 3, 1]);
  const garbage = tf.tidy(() => tf.mul(tf.randomUniform(inputs.flatLogits.shape, -100, 100, 'float32', 9), tf.sub(1, realRow)));
  const garbled = tf.add(inputs.flatLogits, garbage);
  const before = tf.memory().numTensors;
  const first = valueAndGrad((x) => criterion(x, inputs.flatTargets, mask).total, inputs.flatLogits);
  const second = valueAndGrad((x) => criterion(x, inputs.flatTargets, mask).total, garbled);
  expect(tf.memory().numTensors).toBe(before);
  expect(Number.isFinite(first.value)).toBe(true);
  expect(second.value).toBeCloseTo(first.value, 5);
  const isReal = realRow.dataSync();
  const width = totalOutputWidth(schema);
  first.grad.forEach((g, i) => {
    expect(Number.isFinite(g)).toBe(true);
    if (isReal[Math.floor(i / width)]) expect(second.grad[i]).toBeCloseTo(g, 6);
    else expect(Math.abs(g) + Math.abs(second.grad[i])).toBe(0);
  });
  tf.dispose([mask, realRow, garbage, garbled]);
  inputs.dispose();
});

describe('errors name what is wrong', () => {
  test('unknown group keys and config keys', () => {
    expect(() => buildCriterion(schema, { groups: { livr: { weight: 1 } } })).toThrow(/criterion\.groups: unknown group 'livr'; the label schema has: hemorrhage, stage, liver, damage/);
    expect(() => buildCriterion(schema, { groups: { liver: { wieght: 1 } } } as never)).toThrow(/groups\.liver[\s\S]*wieght/);
    expect(() => buildCriterion(schema, { group: {} } as never)).toThrow(/group/);
    expect(() => buildCriterion(schema, { groups: { liver: { weight: -1 } } })).toThrow(/groups\.liver\.weight/);
  });

  test('loss names, options and a loss that does not fit the group kind', () => {
    expect(() => buildCriterion(schema, { groups: { hemorrhage: { loss: { name: 'asl', gama_neg: 2 } } } })).toThrow(
      /criterion\.groups\.hemorrhage\.loss 'asl'[\s\S]*gama_neg/,
    );
    expect(() => buildCriterion(schema, { groups: { damage: { loss: { name: 'huber' } } } })).toThrow(/unknown loss 'huber'/);
    expect(() => buildCriterion(schema, { groups: { damage: { loss: { name: 'asl' } } } })).toThrow(
      /groups\.damage\.loss: loss 'asl' does not fit ordinal-regression group 'damage'.*mse, mae/,
    );
  });

  test('shapes', () => {
    const criterion = buildCriterion(schema);
    const inputs = mixedInputs([2, 3], 4);
    const narrow = inputs.flatLogits.slice([0, 0, 0], [-1, -1, 10]);
    const patientTargets = inputs.flatTargets.slice([0, 0, 0], [-1, 1, -1]).squeeze([1]);
    const wideMask = tf.ones([2, 3, 18]);
    expect(() => criterion(narrow, inputs.flatTargets)).toThrow(/logits are 10 wide but the label schema has 18 outputs/);
    expect(() => criterion(inputs.flatLogits, patientTargets)).toThrow(/targets \[2,12\] must have the logits' leading dimensions \[2,3\]/);
    expect(() => criterion(inputs.flatLogits, inputs.flatTargets, wideMask)).toThrow(/mask \[2,3,18\]/);
    tf.dispose([narrow, patientTargets, wideMask]);
    inputs.dispose();
  });
});
