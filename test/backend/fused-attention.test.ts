import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { multiHeadAttention, type AttentionVariables } from '../../src/models/layers/attention-ops.ts';
import { ClassQueryDecoder } from '../../src/models/layers/class-query-decoder.ts';
import { testBackends, useBackend } from '../helpers/backend.ts';
import { kernelCount, maxAbsDifference, pass, prefixMask, randomizeWeights, seededTensor, withFused } from '../helpers/fused-parity.ts';

/**
 * The fused multi-head attention kernel (src/backend/attention.ts) against the per-op path (fused kernels off, the
 * wasm/cpu code) on the same weights: outputs and the head-averaged maps within 1e-5 (max abs; values are O(1)),
 * every gradient within 1e-5, with padded and fully padded patients. On wasm the per-op path runs; its padded keys
 * get weight 0 and its rows sum to 1 over real keys (0 with none).
 */
const tolerance = 1e-5;
const names = ['queryKernel', 'queryBias', 'keyKernel', 'keyBias', 'valueKernel', 'valueBias', 'outputKernel', 'outputBias'] as const;

/** Seeded attention weights for width 8, as the LayerVariable-like objects multiHeadAttention reads. */
function weights(): Record<(typeof names)[number], tf.Variable> {
  return Object.fromEntries(names.map((name) => [name, tf.variable(seededTensor(name.endsWith('Kernel') ? [8, 8] : [8], name, 0.5))])) as Record<(typeof names)[number], tf.Variable>;
}

const asLayerVariables = (w: Record<string, tf.Variable>) => Object.fromEntries(Object.entries(w).map(([name, v]) => [name, { read: () => v }])) as unknown as AttentionVariables;

/** Output, maps, and the gradients of a seeded weighted sum of both by queries, keys and every weight. */
function run(fused: boolean, self: boolean, keyReal: tf.Tensor | null): number[][] {
  return withFused(fused, () =>
    tf.tidy(() => {
      const queries = tf.variable(seededTensor([3, 4, 8], 'queries'));
      const keys = self ? queries : tf.variable(seededTensor([3, 5, 8], 'keys'));
      const w = weights();
      const attend = () => multiHeadAttention(queries, keys, 2, asLayerVariables(w), keyReal);
      const { output, weights: maps } = attend();
      const [dOut, dMaps] = [seededTensor(output.shape, 'd-output'), seededTensor(maps.shape, 'd-maps')];
      const variables = [queries, ...(self ? [] : [keys as tf.Variable]), ...Object.values(w)];
      const { grads } = tf.variableGrads(() => {
        const result = attend();
        return tf.add(tf.sum(tf.mul(result.output, dOut)), tf.sum(tf.mul(result.weights, dMaps))) as tf.Scalar;
      }, variables);
      const values = [output, maps, ...variables.map((v) => grads[v.name])].map((t) => Array.from(t.dataSync()));
      tf.dispose(variables);
      return values;
    }),
  );
}

describe.skipIf(!testBackends.includes('tensorflow'))('fused attention on the native backend', () => {
  const cases: Array<[string, boolean, () => tf.Tensor | null]> = [
    ['self-attention, no mask', true, () => null],
    ['cross-attention, no mask', false, () => null],
    ['cross-attention, padded and fully padded patients', false, () => prefixMask([5, 2, 0], 5)],
  ];
  for (const [name, self, mask] of cases) {
    it(`${name}: output, maps and every gradient within 1e-5 of the per-op path`, async () => {
      await useBackend('tensorflow');
      const keyReal = mask();
      const [ours, today] = [run(true, self, keyReal), run(false, self, keyReal)];
      expect(ours.length).toBe(today.length);
      ours.forEach((values, i) => expect(maxAbsDifference(Float32Array.from(values), Float32Array.from(today[i])), `tensor ${i}`).toBeLessThan(tolerance));
      keyReal?.dispose();
    });
  }

  for (const level of ['patient', 'slice'] as const) {
    it(`the class-query decoder (${level} level, two blocks with self-attention): scores and gradients within 1e-5, fewer kernels`, async () => {
      await useBackend('tensorflow');
      const layer = new ClassQueryDecoder({ numClasses: 5, width: 8, heads: 2, layers: 2, feedforward: 16, dropout: 0, selfAttention: true, level, seed: 5 });
      const sequence = seededTensor([3, 5, 6], `decoder-${level}`);
      const mask = prefixMask([5, 2, 0], 5);
      layer.apply([sequence, mask]);
      randomizeWeights(layer, `decoder-${level}`);
      const forward = ([x]: tf.Tensor[]) => layer.apply([x, mask]) as tf.Tensor;
      const [ours, today] = [pass(true, layer, [sequence], forward), pass(false, layer, [sequence], forward)];
      expect(maxAbsDifference(ours.outputs, today.outputs)).toBeLessThan(tolerance);
      ours.grads.forEach((g, i) => expect(maxAbsDifference(g, today.grads[i]), `gradient ${i}`).toBeLessThan(tolerance));
      const variables = layer.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
      const step = () => tf.tidy(() => void tf.variableGrads(() => tf.sum(forward([sequence])) as tf.Scalar, variables));
      const [fusedKernels, perOpKernels] = [await withFused(true, () => kernelCount(step)), await withFused(false, () => kernelCount(step))];
      expect(fusedKernels * 2).toBeLessThan(perOpKernels);
      tf.dispose([sequence, mask]);
    });
  }
});

describe.each(testBackends)('attention maps on %s', (backend) => {
  it('give padded keys weight 0 and sum to 1 over real keys (0 for a patient with none)', async () => {
    await useBackend(backend);
    tf.tidy(() => {
      const w = weights();
      const { weights: maps } = multiHeadAttention(seededTensor([3, 4, 8], 'q'), seededTensor([3, 5, 8], 'k'), 2, asLayerVariables(w), prefixMask([5, 2, 0], 5));
      const values = maps.arraySync() as number[][][];
      values.forEach((rows, b) =>
        rows.forEach((row) => {
          const real = [5, 2, 0][b];
          row.slice(real).forEach((v) => expect(v).toBe(0));
          expect(Math.abs(row.reduce((a, c) => a + c, 0) - (real > 0 ? 1 : 0))).toBeLessThan(1e-6);
        }),
      );
      tf.dispose(Object.values(w));
    });
  });
});
