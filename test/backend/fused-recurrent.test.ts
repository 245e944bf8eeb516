import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setSliceseqOps } from '../../src/backend/sliceseq-ops.ts';
import { LabelDecoder, type DecoderInputKind } from '../../src/models/layers/label-decoder.ts';
import { ClassQueryDecoder } from '../../src/models/layers/class-query-decoder.ts';
import { MaskedRecurrent } from '../../src/models/layers/masked-recurrent.ts';
import { testBackends, useBackend } from '../helpers/backend.ts';
import { kernelCount, maxAbsDifference, pass, prefixMask, randomizeWeights, requireSliceseqOps, seededTensor } from '../helpers/fused-parity.ts';

/**
 * The BlockLSTM kernels (src/backend/block-lstm.ts) and the GRU sequence kernel (src/backend/gru.ts) against
 * today's per-step cells on the same weights: outputs
 * within 1e-5 (max abs) and every gradient within 1e-5 (max abs; values are O(1)). Native backend only.
 */
const native = testBackends.includes('tensorflow');
const tolerance = 1e-5;

function expectParity(layer: tf.layers.Layer, inputs: tf.Tensor[], forward: (inputs: tf.Tensor[]) => tf.Tensor, differentiated = inputs.length): void {
  const ours = pass(true, layer, inputs.slice(0, differentiated), (xs) => forward([...xs, ...inputs.slice(differentiated)]));
  const today = pass(false, layer, inputs.slice(0, differentiated), (xs) => forward([...xs, ...inputs.slice(differentiated)]));
  expect(maxAbsDifference(ours.outputs, today.outputs)).toBeLessThan(tolerance);
  expect(ours.grads.length).toBe(today.grads.length);
  ours.grads.forEach((g, i) => expect(maxAbsDifference(g, today.grads[i]), `gradient ${i}`).toBeLessThan(tolerance));
}

// The GRU kernels twice: as sliceseq's ops (native/tf-ops/gru.cc) and as TF's ops.
const variants = [
  { cell: 'lstm', ops: true, label: 'BlockLSTMV2' },
  { cell: 'gru', ops: true, label: 'GRU sequence, our ops' },
  { cell: 'gru', ops: false, label: "GRU sequence, TF's ops" },
] as const;
for (const { cell, ops, label } of variants) describe.skipIf(!native)(`fused ${cell} kernels (${label}) on the native backend`, () => {
  let previousOps = true;
  beforeAll(async () => {
    await useBackend('tensorflow');
    if (ops && cell === 'gru') requireSliceseqOps();
    previousOps = setSliceseqOps(ops);
  });
  afterAll(() => {
    setSliceseqOps(previousOps);
  });

  describe('label decoder', () => {
    for (const inputs of ['zeros', 'embedding', 'learned'] as DecoderInputKind[]) {
      for (const bidirectional of [false, true]) {
        it(`${inputs} inputs, ${bidirectional ? 'bi' : 'uni'}directional: outputs and gradients equal the per-step cell`, () => {
          const layer = new LabelDecoder({ cell, hidden: 6, bidirectional, numClasses: 5, inputs, embeddingSize: 3, seed: 1 });
          const features = seededTensor([3, 7], 'features');
          layer.apply(features);
          randomizeWeights(layer, `decoder-${inputs}-${bidirectional}`);
          expectParity(layer, [features], ([x]) => layer.apply(x) as tf.Tensor);
        });
      }
    }

    it('runs the bidirectional decoder in a handful of kernels instead of hundreds', async () => {
      const layer = new LabelDecoder({ cell, hidden: 8, bidirectional: true, numClasses: 5, inputs: 'zeros', embeddingSize: 3, seed: 1 });
      const features = seededTensor([4, 8], 'features');
      layer.apply(features);
      const fused = await kernelCount(() => tf.dispose(layer.apply(features) as tf.Tensor));
      expect(fused).toBeLessThan(20);
    });
  });

  describe('slice encoder', () => {
    // Padded rows, a fully padded row, and a full row; and a mask with a hole (falls back to the per-step path).
    const masks: Array<[string, number[][] | number[]]> = [
      ['all real', [5, 5, 5]],
      ['padded and fully padded rows', [5, 2, 0]],
      ['steps padded in every row', [3, 2, 0]],
      ['a hole in a row', [[1, 1, 0, 1, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]]],
    ];
    for (const [maskName, spec] of masks) {
      for (const bidirectional of [false, true]) {
        for (const returnSequences of [false, true]) {
          it(`${maskName}, ${bidirectional ? 'bi' : 'uni'}directional, ${returnSequences ? 'per-slice outputs' : 'final state'}`, () => {
            const layer = new MaskedRecurrent({ cell, hidden: 6, bidirectional, returnSequences, seed: 2 });
            const sequence = seededTensor([3, 5, 4], 'sequence');
            const mask = typeof spec[0] === 'number' ? prefixMask(spec as number[], 5) : tf.tensor2d(spec as number[][]);
            layer.apply([sequence, mask]);
            randomizeWeights(layer, `encoder-${bidirectional}-${returnSequences}`);
            expectParity(layer, [sequence, mask], ([x, m]) => layer.apply([x, m]) as tf.Tensor, 1);
          });
        }
      }
    }

    it('runs a bidirectional masked encoder in a handful of kernels instead of hundreds', async () => {
      const layer = new MaskedRecurrent({ cell, hidden: 6, bidirectional: true, returnSequences: true, seed: 2 });
      const sequence = seededTensor([3, 8, 4], 'sequence');
      const mask = prefixMask([8, 3, 0], 8);
      layer.apply([sequence, mask]);
      expect(await kernelCount(() => tf.dispose(layer.apply([sequence, mask]) as tf.Tensor))).toBeLessThan(20);
    });
  });
});

describe.skipIf(!native)('fused layer normalisation on the native backend', () => {
  beforeAll(async () => {
    await useBackend('tensorflow');
  });

  it('the class-query decoder: outputs bitwise, gradients within 1e-5, padded and fully padded patients', () => {
    const layer = new ClassQueryDecoder({ numClasses: 5, width: 8, heads: 2, layers: 1, feedforward: 16, dropout: 0, selfAttention: true, level: 'patient', seed: 3 });
    const sequence = seededTensor([3, 5, 6], 'query-sequence');
    const mask = prefixMask([5, 2, 0], 5);
    layer.apply([sequence, mask]);
    randomizeWeights(layer, 'query');
    const ours = pass(true, layer, [sequence], ([x]) => layer.apply([x, mask]) as tf.Tensor);
    const today = pass(false, layer, [sequence], ([x]) => layer.apply([x, mask]) as tf.Tensor);
    expect(Array.from(ours.outputs)).toEqual(Array.from(today.outputs));
    ours.grads.forEach((g, i) => expect(maxAbsDifference(g, today.grads[i]), `gradient ${i}`).toBeLessThan(tolerance));
  });
});
