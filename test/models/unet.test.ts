import * as tf from '@tensorflow/tfjs';
import { describe, expect, test } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import { parseDenseOrdinalGroup } from '../../src/labels/dense-ordinal.ts';
import { buildModel, modelMetadata } from '../../src/models/build.ts';
import { SliceNeighbours, UpsampleNearest } from '../../src/models/layers/dense-maps.ts';
import { testBackends, useBackend } from '../helpers/backend.ts';
import { expectFinite, expectNoTensorLeak, expectRoundTrip, paddedBatch, variablesWithoutGradient } from './model-checks.ts';

const group = parseDenseOrdinalGroup({ kind: 'dense-ordinal', name: 'damage', classes: ['a', 'b', 'c'], levels: 4 });
const inputShape = { height: 8, width: 8, channels: 2 };

function dense(options: Record<string, unknown>, mode: 'regression' | 'cumulative' | 'joint' = 'regression'): tf.LayersModel {
  return buildModel({ dense: { name: 'unet', depth: 2, baseWidth: 3, ...options } }, { dense: { ...group, mode }, rng: new Rng(5), inputShape, level: 'slice' });
}

describe.each(testBackends)('U-Net on %s', (backend) => {
  test.each([
    ['transposed convolutions, skips, batch norm', { upsample: 'transpose' }],
    ['resize + conv, no skips, no batch norm, 2.5D', { upsample: 'resize', skips: false, batchNorm: false, context: 1 }],
  ])('%s: maps [b, s, H, W, types], zeros at padded slices, every weight learns, saved and loaded alike', async (_, options) => {
    await useBackend(backend);
    const model = dense(options);
    const { inputs, mask } = paddedBatch(new Rng(1), [3, 1], 3, [8, 8, 2]);
    const maps = model.apply([inputs, mask], { training: false }) as tf.Tensor;
    expect(maps.shape).toEqual([2, 3, 8, 8, 3]);
    expectFinite(maps, 'maps');
    // Patient 1 has one real slice: its slices 2 and 3 are padding.
    expect(tf.tidy(() => tf.max(tf.abs(tf.slice(maps, [1, 1, 0, 0, 0], [1, 2, 8, 8, 3]))).dataSync()[0])).toBe(0);
    expect(variablesWithoutGradient(model, [inputs, mask])).toEqual([]);
    expectNoTensorLeak(model, [inputs, mask]);
    const loaded = await expectRoundTrip(model, [inputs, mask]);
    expect(modelMetadata(loaded)?.dense).toEqual(group);
    tf.dispose([maps, inputs, mask]);
    loaded.dispose();
    model.dispose();
  });
});

describe('dense model outputs and options', () => {
  test('output width follows the group mode: types, types × (levels-1), levels^types', async () => {
    await useBackend();
    const { inputs, mask } = paddedBatch(new Rng(2), [1], 1, [8, 8, 2]);
    for (const [mode, width] of [['regression', 3], ['cumulative', 9], ['joint', 64]] as const) {
      const model = dense({}, mode);
      const out = model.predict([inputs, mask]) as tf.Tensor;
      expect(out.shape).toEqual([1, 1, 8, 8, width]);
      out.dispose();
      model.dispose();
    }
    tf.dispose([inputs, mask]);
  });

  test('a size the depth cannot halve, or a dense model without a group, is refused', () => {
    expect(() => dense({ depth: 4 })).toThrow(/depth 4 needs height and width divisible by 16, got 8×8/);
    expect(() => buildModel({ dense: { name: 'unet' } }, { rng: new Rng(1), inputShape, level: 'slice' })).toThrow(/needs a dense-ordinal label group/);
    expect(() => buildModel({ dense: { name: 'unet', widht: 3 } }, { dense: group, rng: new Rng(1), inputShape, level: 'slice' })).toThrow(/widht/);
    expect(() => buildModel({}, { dense: group, rng: new Rng(1), inputShape, level: 'slice' })).toThrow(/encoder: required \(unless the model is a dense one/);
  });

  test('2.5D input puts the previous slice, the slice and the next one side by side as channels', async () => {
    await useBackend();
    const x = tf.tensor5d([1, 2, 3], [1, 3, 1, 1, 1]);
    const out = new SliceNeighbours({ context: 1 }).apply(x) as tf.Tensor;
    expect(Array.from(out.dataSync())).toEqual([0, 1, 2, 1, 2, 3, 2, 3, 0]);
    tf.dispose([x, out]);
  });

  test('nearest upsampling copies each pixel into a block, and its gradient sums the block', async () => {
    await useBackend();
    const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
    const layer = new UpsampleNearest({ factor: 2 });
    const out = layer.apply(x) as tf.Tensor;
    expect(Array.from(out.dataSync())).toEqual([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
    const grad = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(layer.apply(input) as tf.Tensor, tf.range(0, 16).reshape([1, 4, 4, 1]))))(x);
    // Block of pixel (0, 0): positions 0, 1, 4, 5 of the 4×4 grid.
    expect(Array.from(grad.dataSync())).toEqual([0 + 1 + 4 + 5, 2 + 3 + 6 + 7, 8 + 9 + 12 + 13, 10 + 11 + 14 + 15]);
    tf.dispose([x, out, grad]);
  });
});
