import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { sliceseqOpReady } from '../../src/backend/sliceseq-ops.ts';
import { aslElements, type AslOptions } from '../../src/losses/asl.ts';
import { testBackends, useBackend } from '../helpers/backend.ts';
import { bindingCalls, requireSliceseqOps, seededTensor, withSliceseqOps } from '../helpers/fused-parity.ts';

/**
 * Our TensorFlow ops SliceseqAsl and SliceseqAslTargetsGrad (native/tf-ops/asymmetric_loss.cc) against the fused
 * kernel's TF-ops path (setSliceseqOps(false)) on the same logits and targets, over every option of the loss.
 * The float32 operations are the same in the same order; the transcendental functions are libm's against Eigen's
 * (σ, exp, log1p, log, pow), a few ulps apart, so each output within 1e-6 of its largest magnitude plus 2e-6
 * relative. (Measured over 6000 logits in [−30, 30] and every variant below: at most 3.1e-7 of the largest
 * magnitude for the elements, 4.3e-7 for the gradients; 25–80% of the values bitwise.) CPU package only.
 */
const native = testBackends.includes('tensorflow');

const defaults: AslOptions = { gamma_neg: 4, gamma_pos: 1, clip: 0.05, eps: 1e-8, reduction: 'sum', stopGradientFocusing: false };
const variants: Array<[string, Partial<AslOptions>]> = [
  ['defaults (γ− 4, γ+ 1, clip 0.05, eps 1e-8)', {}],
  ['γ 0 on both sides, clip 0, eps 0 (cross-entropy)', { gamma_neg: 0, gamma_pos: 0, clip: 0, eps: 0 }],
  ['γ 1 on both sides, clip 0.5', { gamma_neg: 1, gamma_pos: 1, clip: 0.5 }],
  ['fractional γ, clip 0 with the eps floor', { gamma_neg: 2.5, gamma_pos: 0.5, clip: 0, eps: 1e-4 }],
  ['a large eps that binds on the clipped side', { gamma_neg: 3, gamma_pos: 2, clip: 1e-6, eps: 0.1 }],
  ['γ+ 0.3 (γ − 1 not exact), clip 0, eps 0', { gamma_neg: 1.7, gamma_pos: 0.3, clip: 0, eps: 0 }],
  ['focusing weights held constant', { stopGradientFocusing: true }],
  ['focusing weights held constant, clip 0', { stopGradientFocusing: true, clip: 0, gamma_pos: 2 }],
];

/** Logits with extremes (±100, ±30, ±20), exact zeros and the clip's neighbourhood beside normal draws. */
function logits(): tf.Tensor {
  const values = Array.from(seededTensor([6, 4, 5], 'sliceseq-asl-logits', 4).dataSync());
  [-100, -30, -20, 20, 30, 100, 0, -0, -2.944, -2.9444389, 14, -14, 16, -16, 0.5].forEach((v, i) => (values[i * 7] = v));
  return tf.tensor(values, [6, 4, 5]);
}

interface Result {
  elements: Float32Array;
  validation: Float32Array;
  dLogits: Float32Array;
  dTargets: Float32Array;
}

function run(ours: boolean, options: AslOptions, x: tf.Tensor, y: tf.Tensor): Result {
  return withSliceseqOps(ours, () => {
    expect(sliceseqOpReady('SliceseqAsl')).toBe(ours);
    return tf.tidy(() => {
      const weights = seededTensor(x.shape, 'sliceseq-asl-upstream');
      const validation = aslElements(x, y, options).dataSync() as Float32Array;
      let elements = new Float32Array();
      const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) => {
        const e = aslElements(a, b, options);
        elements = e.dataSync() as Float32Array;
        return tf.sum(tf.mul(e, weights));
      })([x, y]);
      return { elements, validation, dLogits: grads[0].dataSync() as Float32Array, dTargets: grads[1].dataSync() as Float32Array };
    });
  });
}

function expectClose(actual: Float32Array, expected: Float32Array, what: string, relative: number, ofLargest: number): void {
  expect(actual.length).toBe(expected.length);
  const scale = expected.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  expected.forEach((v, i) => {
    expect(Number.isFinite(actual[i]), `${what}[${i}] = ${actual[i]}`).toBe(true);
    expect(Math.abs(actual[i] - v), `${what}[${i}]: ${actual[i]} vs ${v}`).toBeLessThanOrEqual(ofLargest * scale + relative * Math.abs(v));
  });
}

/** The TF op names `f` sends through tfjs-node's binding. */
const opNames = (f: () => void): string[] => bindingCalls(f).names;

describe.skipIf(!native)('our asymmetric-loss ops (SliceseqAsl) against the fused kernel’s TF ops', () => {
  beforeAll(async () => {
    await useBackend('tensorflow');
  });

  it('the ops module is loaded (CI builds it with `npm run native`)', () => {
    requireSliceseqOps();
    // Whatever SLICESEQ_TF_OPS says: these tests turn them on themselves.
    withSliceseqOps(true, () => ['SliceseqAsl', 'SliceseqAslTargetsGrad'].forEach((op) => expect(sliceseqOpReady(op), op).toBe(true)));
  });

  for (const [name, overrides] of variants) {
    for (const soft of [false, true]) {
      it(`${name}, ${soft ? 'soft' : '0/1'} targets: elements, dE/dlogits and dE/dtargets within libm-vs-Eigen rounding`, () => {
        const options = { ...defaults, ...overrides };
        const x = logits();
        const y = soft ? tf.sigmoid(seededTensor(x.shape, 'sliceseq-asl-soft')) : tf.cast(tf.greater(seededTensor(x.shape, 'sliceseq-asl-hard'), 0.3), 'float32');
        const ours = run(true, options, x, y);
        const twin = run(false, options, x, y);
        expectClose(ours.elements, twin.elements, 'elements', 2e-6, 1e-6);
        // Without a tape the op skips the derivative; the elements are the same bits.
        expect(Array.from(ours.validation)).toEqual(Array.from(ours.elements));
        expect(Array.from(twin.validation)).toEqual(Array.from(twin.elements));
        expectClose(ours.dLogits, twin.dLogits, 'dLogits', 2e-6, 1e-6);
        expectClose(ours.dTargets, twin.dTargets, 'dTargets', 2e-6, 1e-6);
        tf.dispose([x, y]);
      });
    }
  }

  it('one TF op forward; the targets derivative runs only when the targets’ gradient is asked for', () =>
    withSliceseqOps(true, () => {
      const x = logits();
      const y = tf.cast(tf.greater(seededTensor(x.shape, 'sliceseq-asl-hard'), 0.3), 'float32');
      const before = tf.memory().numTensors;
      expect(opNames(() => tf.tidy(() => aslElements(x, y, defaults).dataSync()))).toEqual(['SliceseqAsl']);
      const byLogits = opNames(() => tf.tidy(() => tf.grad((a: tf.Tensor) => tf.sum(aslElements(a, y, defaults)))(x).dataSync()));
      expect(byLogits.filter((op) => op.startsWith('SliceseqAsl'))).toEqual(['SliceseqAsl']);
      const byBoth = opNames(() => tf.tidy(() => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(aslElements(a, b, defaults)))([x, y]).forEach((g) => g.dataSync())));
      expect(byBoth.filter((op) => op.startsWith('SliceseqAsl'))).toEqual(['SliceseqAsl', 'SliceseqAslTargetsGrad']);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, y]);
    }));

  it('the TF-ops twin skips the derivative without a tape too', () =>
    withSliceseqOps(false, () => {
      const x = logits();
      const y = tf.cast(tf.greater(seededTensor(x.shape, 'sliceseq-asl-hard'), 0.3), 'float32');
      // dlogPNeg/dx (clip > 0) is the derivative's only RealDiv and LogicalAnd.
      const derivativeOps = (names: string[]) => names.filter((op) => op === 'RealDiv' || op === 'LogicalAnd');
      expect(derivativeOps(opNames(() => tf.tidy(() => aslElements(x, y, defaults).dataSync())))).toEqual([]);
      const taped = opNames(() => tf.tidy(() => tf.grad((a: tf.Tensor) => tf.sum(aslElements(a, y, defaults)))(x).dataSync()));
      expect(derivativeOps(taped)).toEqual(['LogicalAnd', 'RealDiv']);
      tf.dispose([x, y]);
    }));

  it('logits and targets of different shapes are refused with the op’s name', () =>
    withSliceseqOps(true, () => {
      const x = tf.zeros([2, 3]);
      const y = tf.zeros([3, 2]);
      expect(() => tf.tidy(() => aslElements(x, y, defaults))).toThrow(/SliceseqAsl: logits and targets must have one shape/);
      tf.dispose([x, y]);
    }));
});
