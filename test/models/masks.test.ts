import type * as tfType from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import { binarySchema } from '../../src/labels/schema.ts';
import { buildModel, type ModelConfigInput, type ModelInputShape } from '../../src/models/build.ts';
import type { OutputLevel } from '../../src/models/encoders/index.ts';
import { useBackend } from '../helpers/backend.ts';
import { paddedBatch } from './model-checks.ts';

let tf: typeof tfType;
beforeAll(async () => {
  tf = await useBackend();
});

const schema = binarySchema(['a', 'b', 'c']);
const lengths = [5, 2, 3];
const padTo = 7;

/** Patient p alone, cut to its real slices, with an all-ones mask. */
function alone(inputs: tfType.Tensor, p: number): tfType.Tensor[] {
  const real = inputs.slice([p, 0], [1, lengths[p]]);
  return [real, tf.ones([1, lengths[p]])];
}

function predict(model: tfType.LayersModel, inputs: tfType.Tensor[], training = false): number[] {
  return tf.tidy(() => Array.from((training ? (model.apply(inputs, { training: true }) as tfType.Tensor) : (model.predict(inputs) as tfType.Tensor)).dataSync()));
}

/**
 * The padded batch (garbage in padded slices) must give every patient the outputs it gets alone, unpadded;
 * slice-level outputs at padded slices must be zero.
 */
function expectPaddingInvariant(config: ModelConfigInput, inputShape: ModelInputShape, level: OutputLevel): void {
  const model = buildModel(config, { schema, rng: new Rng(5), inputShape, level });
  const perSlice = 'features' in inputShape ? [inputShape.features] : [inputShape.height, inputShape.width, inputShape.channels];
  const { inputs, mask } = paddedBatch(new Rng(6), lengths, padTo, perSlice);
  const batched = predict(model, [inputs, mask]);
  const width = schema.groups[0].classes.length;
  lengths.forEach((length, p) => {
    const single = alone(inputs, p);
    const expected = predict(model, single);
    tf.dispose(single);
    const rowWidth = level === 'patient' ? width : padTo * width;
    const row = batched.slice(p * rowWidth, (p + 1) * rowWidth);
    expected.forEach((value, i) => expect(row[i], `patient ${p} output ${i}`).toBeCloseTo(value, 5));
    if (level === 'slice') expect(row.slice(length * width)).toEqual(new Array((padTo - length) * width).fill(0));
  });
  tf.dispose([inputs, mask]);
  model.dispose();
}

const embeddings = { features: 4 };
const decoder = { name: 'lstm', hidden: 3 };

describe('padded slices never change the outputs', () => {
  const recurrent = ['gru', 'lstm'].flatMap((name) => [true, false].flatMap((bidirectional) => (['patient', 'slice'] as const).map((level) => [name, bidirectional, level] as const)));
  test.each(recurrent)('%s encoder (bidirectional %s, %s level)', (name, bidirectional, level) => {
    expectPaddingInvariant({ encoder: { name, hidden: 4, bidirectional, layers: 2 }, decoder }, embeddings, level);
  });

  test.each(['mean', 'max'] as const)('recurrent encoder with masked %s pooling', (pooling) => {
    expectPaddingInvariant({ encoder: { name: 'gru', hidden: 4, pooling }, decoder }, embeddings, 'patient');
  });

  test.each(['mean', 'max'] as const)('no encoder, masked %s pooling', (pooling) => {
    expectPaddingInvariant({ encoder: { name: 'none', pooling }, decoder }, embeddings, 'patient');
    expectPaddingInvariant({ encoder: { name: 'none', pooling }, decoder }, embeddings, 'slice');
  });

  test('from images, with batch norm in training mode: padded slices stay out of the batch statistics', () => {
    // Batch statistics depend on the whole batch, so compare the batch padded to 7 slices with the same batch
    // padded only to its longest patient (5): equal if and only if padded slices are left out.
    const config = { backbone: { name: 'small-vgg', channels: [3], convsPerBlock: 1, batchNorm: true }, encoder: { name: 'gru', hidden: 3 }, decoder };
    const model = buildModel(config, { schema, rng: new Rng(5), inputShape: { height: 6, width: 6, channels: 1 }, level: 'slice' });
    const { inputs, mask } = paddedBatch(new Rng(6), lengths, padTo, [6, 6, 1]);
    const longest = Math.max(...lengths);
    const trimmed = [inputs.slice([0, 0], [-1, longest]), mask.slice([0, 0], [-1, longest])];
    const [full, short] = [predict(model, [inputs, mask], true), predict(model, trimmed, true)];
    const width = schema.groups[0].classes.length;
    lengths.forEach((_, p) => {
      const expected = short.slice(p * longest * width, (p + 1) * longest * width);
      expected.forEach((value, i) => expect(full[p * padTo * width + i], `patient ${p} output ${i}`).toBeCloseTo(value, 5));
    });
    tf.dispose([inputs, mask, ...trimmed]);
    model.dispose();
  });

  test('folding and timeDistributed compute the same per-slice features', () => {
    const inputShape = { height: 8, width: 8, channels: 2 };
    const [folded, stepped] = (['fold', 'timeDistributed'] as const).map((stacking) =>
      buildModel({ backbone: { name: 'small-vgg', channels: [4, 4] }, encoder: { name: 'gru', hidden: 3 }, decoder, stacking }, { schema, rng: new Rng(2), inputShape, level: 'slice' }),
    );
    const { inputs, mask } = paddedBatch(new Rng(3), lengths, padTo, [8, 8, 2]);
    const [a, b] = [folded, stepped].map((model) => predict(model, [inputs, mask]));
    a.forEach((value, i) => expect(b[i], `output ${i}`).toBeCloseTo(value, 5));
    expect(a.some((value) => value !== 0)).toBe(true);
    tf.dispose([inputs, mask]);
    folded.dispose();
    stepped.dispose();
  });

  test('a batch whose every slice is padding is an error, not zeros', () => {
    const model = buildModel({ backbone: { name: 'small-vgg', channels: [2] }, encoder: { name: 'none' }, decoder: { name: 'dense' } }, { schema, rng: new Rng(1), inputShape: { height: 4, width: 4, channels: 1 }, level: 'patient' });
    const [images, mask] = [tf.zeros([2, 3, 4, 4, 1]), tf.zeros([2, 3])];
    expect(() => model.predict([images, mask])).toThrow(/every slice in the batch is padding/);
    tf.dispose([images, mask]);
    model.dispose();
  });
});
