import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { GRU_OP_MAX_PRODUCT, GRU_SEQUENCE, GRU_SEQUENCE_GRAD, type GruAttrs } from '../../src/backend/gru.ts';
import { sliceseqOpReady } from '../../src/backend/sliceseq-ops.ts';
import { TfOps } from '../../src/backend/tf-ops.ts';
import { testBackends, useBackend } from '../helpers/backend.ts';
import { maxAbsDifference, requireSliceseqOps, seededTensor, tfOpCount, withSliceseqOps } from '../helpers/fused-parity.ts';

/**
 * sliceseq's GRU ops (native/tf-ops/gru.cc: SliceseqGRU, SliceseqGRUGrad) against the GRU kernels' TF-ops path
 * (setSliceseqOps(false)) on the same inputs: every output of the forward kernel (states, final and the saved r, z,
 * n, gn) and of the backward kernel (dx, dh0, du, db). Not bitwise: TF's MatMul blocks its sums and Eigen's
 * sigmoid and tanh are approximations, so forward outputs within 2e-6 and gradients within 1e-5 (max abs; values
 * are O(1)). CPU package only (the GPU build has no sliceseq ops); on it, the test fails when the ops are not loaded.
 */
const native = testBackends.includes('tensorflow');

interface Case {
  name: string;
  steps: number;
  batch: number;
  hidden: number;
  inputBatch?: number;
  reverse: boolean;
  /** Real slices per row, first (a prefix mask), or a whole [batch][steps] mask; absent: every step real. */
  mask?: number[] | number[][];
}

function stepMajor(c: Case): number[] | null {
  if (!c.mask) return null;
  const rows = typeof c.mask[0] === 'number' ? (c.mask as number[]).map((length) => Array.from({ length: c.steps }, (_, t) => (t < length ? 1 : 0))) : (c.mask as number[][]);
  return Array.from({ length: c.steps * c.batch }, (_, i) => rows[i % c.batch][Math.floor(i / c.batch)]);
}

/** The forward kernel's six outputs and the backward kernel's four, with the sliceseq ops on or off. */
function run(c: Case, ops: boolean): Float32Array[] {
  return withSliceseqOps(ops, () =>
    tf.tidy(() => {
      const { steps, batch, hidden } = c;
      const attrs: GruAttrs = { reverse: c.reverse, real: stepMajor(c) };
      const label = `${c.name}-${steps}-${batch}-${hidden}`;
      const x = seededTensor([steps, c.inputBatch ?? batch, 3 * hidden], `${label}-x`);
      const h0 = seededTensor([batch, hidden], `${label}-h0`, 0.5);
      const u = seededTensor([hidden, 3 * hidden], `${label}-u`, 0.4);
      const b = seededTensor([3 * hidden], `${label}-b`, 0.4);
      const forward = tf.engine().runKernel(GRU_SEQUENCE, { x, h0, u, b }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
      const [states, , r, z, n, gn] = forward;
      const dStates = seededTensor([steps, batch, hidden], `${label}-dstates`);
      const dFinal = seededTensor([batch, hidden], `${label}-dfinal`);
      const grads = tf.engine().runKernel(GRU_SEQUENCE_GRAD, { x, h0, u, states, r, z, n, gn, dStates, dFinal }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
      return [...forward, ...grads].map((t) => t.dataSync() as Float32Array);
    }),
  );
}

const outputNames = ['states', 'final', 'r', 'z', 'n', 'gn', 'dx', 'dh0', 'du', 'db'];

describe.skipIf(!native)('sliceseq GRU ops (native/tf-ops/gru.cc) against the TF-ops path', () => {
  beforeAll(async () => {
    await useBackend('tensorflow');
  });

  it('are loaded on the CPU package (npm run native builds them)', () => {
    requireSliceseqOps();
    withSliceseqOps(true, () => {
      expect(sliceseqOpReady(GRU_SEQUENCE)).toBe(true);
      expect(sliceseqOpReady(GRU_SEQUENCE_GRAD)).toBe(true);
    });
  });

  const cases: Case[] = [
    { name: 'every step real', steps: 5, batch: 4, hidden: 8, reverse: false },
    { name: 'every step real, reverse', steps: 5, batch: 4, hidden: 8, reverse: true },
    // Five rows: one block of four in the products, and one row after it.
    { name: 'padded and fully padded patients', steps: 6, batch: 5, hidden: 7, reverse: false, mask: [6, 2, 0, 4, 1] },
    { name: 'padded and fully padded patients, reverse', steps: 6, batch: 5, hidden: 7, reverse: true, mask: [6, 2, 0, 4, 1] },
    { name: 'steps padded in every row', steps: 6, batch: 3, hidden: 5, reverse: false, mask: [3, 2, 0] },
    { name: 'steps padded in every row, reverse', steps: 6, batch: 3, hidden: 5, reverse: true, mask: [3, 2, 0] },
    { name: 'holes in rows', steps: 5, batch: 3, hidden: 6, reverse: true, mask: [[1, 1, 0, 1, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]] },
    { name: 'x broadcast over the batch', steps: 5, batch: 3, hidden: 6, inputBatch: 1, reverse: false },
    { name: 'x broadcast over the batch, reverse, padded', steps: 5, batch: 6, hidden: 6, inputBatch: 1, reverse: true, mask: [5, 3, 0, 1, 5, 2] },
    { name: 'the short-series size', steps: 5, batch: 4, hidden: 64, reverse: false, mask: [5, 3, 2, 4] },
  ];
  for (const c of cases) {
    it(`${c.name} (T ${c.steps}, B ${c.batch}, H ${c.hidden}): forward within 2e-6, gradients within 1e-5`, () => {
      const ours = run(c, true);
      const twin = run(c, false);
      ours.forEach((values, i) => {
        const tolerance = i < 6 ? 2e-6 : 1e-5;
        expect(maxAbsDifference(values, twin[i]), outputNames[i]).toBeLessThan(tolerance);
      });
    });
  }

  it('run as one TF op each up to the size rule (B·H·3H ≤ GRU_OP_MAX_PRODUCT); above it, the TF-ops path', () => {
    const forwardOps = (batch: number, hidden: number) =>
      withSliceseqOps(true, () =>
        tfOpCount(() =>
          tf.tidy(() => {
            const attrs = { reverse: false, real: null } as unknown as tf.NamedAttrMap;
            const x = tf.zeros([2, batch, 3 * hidden]);
            tf.engine().runKernel(GRU_SEQUENCE, { x, h0: tf.zeros([batch, hidden]), u: tf.zeros([hidden, 3 * hidden]), b: tf.zeros([3 * hidden]) }, attrs);
          }),
        ),
      );
    expect(16 * 256 * 3 * 256).toBeLessThanOrEqual(GRU_OP_MAX_PRODUCT);
    expect(forwardOps(16, 256)).toBe(1);
    expect(32 * 256 * 3 * 256).toBeGreaterThan(GRU_OP_MAX_PRODUCT);
    expect(forwardOps(32, 256)).toBeGreaterThan(10);
  });

  it('a fully padded step keeps the state and saves zero gates; its gradient passes straight through', () => {
    const c: Case = { name: 'padded step', steps: 3, batch: 2, hidden: 4, reverse: false, mask: [[1, 0, 1], [1, 0, 0]] };
    const [states, , r, , , , dx] = run(c, true);
    const step = 2 * 4;
    expect(Array.from(states.subarray(step, 2 * step))).toEqual(Array.from(states.subarray(0, step)));
    expect(Array.from(r.subarray(step, 2 * step)).every((v) => v === 0)).toBe(true);
    expect(Array.from(dx.subarray(2 * 3 * 4, 2 * 2 * 3 * 4)).every((v) => v === 0)).toBe(true);
  });

  it('refuses a mask that is not 1/0 and a mask of the wrong shape, naming the op and the input', () => {
    tf.tidy(() => {
      const ops = TfOps.of(tf.backend());
      const x = tf.zeros([2, 1, 6]);
      const h0 = tf.zeros([1, 2]);
      const u = tf.zeros([2, 6]);
      const b = tf.zeros([6]);
      const run = (mask: tf.Tensor) => () => ops.many(GRU_SEQUENCE, [x, h0, u, b, mask], 6, [ops.bool('reverse', false)]);
      expect(run(tf.tensor2d([[1], [0.5]]))).toThrow(/SliceseqGRU: mask holds 0\.5/);
      expect(run(tf.tensor2d([[1, 1]]))).toThrow(/SliceseqGRU: mask must be \[2, 1\]/);
      expect(() => ops.many(GRU_SEQUENCE, [x, h0, tf.zeros([3, 6]), b, tf.ones([2, 1])], 6, [ops.bool('reverse', false)])).toThrow(/SliceseqGRU: u must be \[2, 6\]/);
    });
  });
});
