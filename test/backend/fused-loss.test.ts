import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { binarySchema } from '../../src/labels/schema.ts';
import { aslElements, type AslOptions } from '../../src/losses/asl.ts';
import { buildCriterion } from '../../src/losses/criterion.ts';
import { testBackends, useBackend } from '../helpers/backend.ts';
import { kernelCount, seededTensor, withFused, withSliceseqOps } from '../helpers/fused-parity.ts';

/**
 * The fused ASL kernel (src/backend/asymmetric-loss.ts) against the per-op aslElements on the same inputs: the
 * elements bitwise (the same TF ops in the same order), the gradients by logits and by (soft) targets within
 * 1e-6 of the largest magnitude plus 1e-6 relative (the products' order differs). And the shared-data Reshape
 * and Cast (src/backend/native-kernels.ts). Native backend only. The kernel's TF-ops path, with our op SliceseqAsl
 * off (it is the twin test/backend/sliceseq-asl.test.ts compares that op with).
 */
const native = testBackends.includes('tensorflow');

const defaults: AslOptions = { gamma_neg: 4, gamma_pos: 1, clip: 0.05, eps: 1e-8, reduction: 'sum', stopGradientFocusing: false };
const variants: Array<[string, Partial<AslOptions>]> = [
  ['defaults (γ− 4, γ+ 1, clip 0.05, eps 1e-8)', {}],
  ['γ 0 on both sides, clip 0, eps 0 (cross-entropy)', { gamma_neg: 0, gamma_pos: 0, clip: 0, eps: 0 }],
  ['fractional γ, clip 0 with the eps floor', { gamma_neg: 2.5, gamma_pos: 0.5, clip: 0, eps: 1e-4 }],
  ['a large eps that binds on the clipped side', { gamma_neg: 3, gamma_pos: 2, clip: 1e-6, eps: 0.1 }],
  ['focusing weights held constant', { stopGradientFocusing: true }],
];

/** Logits with extremes (±100, ±20), exact zeros and the clip's neighbourhood beside normal draws. */
function logits(): tf.Tensor {
  const values = Array.from(seededTensor([6, 3, 5], 'asl-logits', 4).dataSync());
  [-100, -20, 20, 100, 0, 0, -2.944, -2.9444389, 14, -14].forEach((v, i) => (values[i * 7] = v));
  return tf.tensor(values, [6, 3, 5]);
}

function run(fused: boolean, options: AslOptions, x: tf.Tensor, y: tf.Tensor) {
  return withSliceseqOps(false, () => runFused(fused, options, x, y));
}

function runFused(fused: boolean, options: AslOptions, x: tf.Tensor, y: tf.Tensor) {
  return withFused(fused, () =>
    tf.tidy(() => {
      const elements = aslElements(x, y, options).dataSync() as Float32Array;
      const weights = seededTensor(x.shape, 'asl-upstream');
      const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(aslElements(a, b, options), weights)))([x, y]);
      return { elements, dLogits: grads[0].dataSync() as Float32Array, dTargets: grads[1].dataSync() as Float32Array };
    }),
  );
}

function expectClose(actual: Float32Array, expected: Float32Array, what: string): void {
  const scale = expected.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  expected.forEach((v, i) => expect(Math.abs(actual[i] - v), `${what}[${i}]: ${actual[i]} vs ${v}`).toBeLessThanOrEqual(1e-6 * scale + 1e-6 * Math.abs(v)));
}

describe.skipIf(!native)('fused asymmetric loss on the native backend', () => {
  beforeAll(async () => {
    await useBackend('tensorflow');
  });

  for (const [name, overrides] of variants) {
    for (const soft of [false, true]) {
      it(`${name}, ${soft ? 'soft' : '0/1'} targets: elements bitwise, gradients within float32 rounding`, () => {
        const options = { ...defaults, ...overrides };
        const x = logits();
        const y = soft ? tf.sigmoid(seededTensor(x.shape, 'asl-soft')) : tf.cast(tf.greater(seededTensor(x.shape, 'asl-hard'), 0.3), 'float32');
        const ours = run(true, options, x, y);
        const today = run(false, options, x, y);
        expect(Array.from(ours.elements)).toEqual(Array.from(today.elements));
        expectClose(ours.dLogits, today.dLogits, 'dLogits');
        expectClose(ours.dTargets, today.dTargets, 'dTargets');
        tf.dispose([x, y]);
      });
    }
  }

  it('the criterion runs a few kernels instead of about a hundred, and leaks nothing', async () => {
    const criterion = buildCriterion(binarySchema(['a', 'b', 'c', 'd', 'e']));
    const x = seededTensor([4, 5], 'criterion-logits');
    const y = tf.cast(tf.greater(seededTensor([4, 5], 'criterion-targets'), 0), 'float32');
    const before = tf.memory().numTensors;
    const v = tf.variable(x, true, 'criterion_x');
    const step = () => {
      const { value, grads } = tf.variableGrads(() => criterion(v, y).total, [v]);
      tf.dispose([value, grads[v.name]]);
    };
    // The profile runs `step` at once, inside withFused.
    const kernels = (fused: boolean) => withFused(fused, () => kernelCount(step));
    const [fused, perOp] = [await kernels(true), await kernels(false)];
    // Today 16 against 149 (the loss, its reduction and the tape's saved-tensor clones, forward and backward).
    expect(fused).toBeLessThan(20);
    expect(perOp).toBeGreaterThan(100);
    v.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y]);
  });

  it('Reshape to the same shape and Cast to the same dtype share the data: values survive the input, nothing leaks', async () => {
    const before = tf.memory().numTensors;
    const x = tf.tensor([[1, 2, 3], [4, 5, 6]]);
    const ops = await tf.profile(() => {
      const same = tf.reshape(x, [2, -1]);
      const cast = tf.cast(same, 'float32');
      x.dispose();
      same.dispose();
      const doubled = tf.mul(cast, 2);
      expect(Array.from(doubled.dataSync())).toEqual([2, 4, 6, 8, 10, 12]);
      const other = tf.reshape(cast, [3, 2]);
      expect(other.shape).toEqual([3, 2]);
      expect(Array.from(other.dataSync())).toEqual([1, 2, 3, 4, 5, 6]);
      tf.dispose([cast, other, doubled]);
    });
    expect(ops.kernels.map((k) => k.name)).toEqual(['Reshape', 'Cast', 'Multiply', 'Reshape']);
    expect(tf.memory().numTensors).toBe(before);
    // An int32 cast still converts.
    const ints = tf.cast(tf.tensor([1.7, -2.2]), 'int32');
    expect(Array.from(ints.dataSync())).toEqual([1, -2]);
    ints.dispose();
  });
});
