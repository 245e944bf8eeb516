import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DENSE, dense, type DenseLayout } from '../../src/backend/dense.ts';
import { setSliceseqOps, sliceseqOpReady, sliceseqOpsProblem } from '../../src/backend/sliceseq-ops.ts';
import { LabelDecoder } from '../../src/models/layers/label-decoder.ts';
import { MaskedRecurrent } from '../../src/models/layers/masked-recurrent.ts';
import { testBackends, useBackend } from '../helpers/backend.ts';
import { bindingCalls, kernelCount, maxAbsDifference, prefixMask, randomizeWeights, seededTensor } from '../helpers/fused-parity.ts';

/**
 * Our dense op (native/tf-ops/dense.cc, src/backend/dense.ts) against its twin, the per-op tfjs path
 * (`setSliceseqOps(false)`), on the same inputs: outputs and the gradients by x, w and b within 1e-6 of each
 * result's largest magnitude (the op sums the product in another order than Eigen's MatMul; nothing else
 * differs). Native backend only; CI builds the module, so a missing one fails here.
 */
const native = testBackends.includes('tensorflow');
const relative = 1e-6;

function withOps<T>(on: boolean, f: () => T): T {
  const previous = setSliceseqOps(on);
  try {
    return f();
  } finally {
    setSliceseqOps(previous);
  }
}

/** y, and the gradients of sum(y · seeded weights) by x, w and b. */
function run(on: boolean, x: tf.Tensor, w: tf.Tensor2D, b: tf.Tensor1D, layout: DenseLayout): Float32Array[] {
  return withOps(on, () =>
    tf.tidy(() => {
      const y = dense(x, w, b, layout);
      const weights = seededTensor(y.shape, 'dense-output-weights');
      const grads = tf.grads((xv: tf.Tensor, wv: tf.Tensor, bv: tf.Tensor) => tf.sum(tf.mul(dense(xv, wv as tf.Tensor2D, bv as tf.Tensor1D, layout), weights)))([x, w, b]);
      return [y, ...grads].map((t) => t.dataSync() as Float32Array);
    }),
  );
}

function expectClose(ours: Float32Array, twin: Float32Array, what: string): void {
  const scale = twin.reduce((max, v) => Math.max(max, Math.abs(v)), 0);
  expect(maxAbsDifference(ours, twin), what).toBeLessThanOrEqual(relative * Math.max(scale, 1));
}

describe.skipIf(!native)('SliceseqDense (our TF op) on the native backend', () => {
  beforeAll(async () => {
    await useBackend('tensorflow');
  });

  it('is loaded', () => {
    expect(sliceseqOpsProblem()).toBeNull();
    expect(sliceseqOpReady(DENSE)).toBe(true);
  });

  const cases: Array<[string, number[], number, DenseLayout]> = [
    ['rank 2', [4, 64], 64, {}],
    ['rank 3', [5, 4, 64], 192, {}],
    ['rank 3, swapped (batch-major → time-major)', [4, 5, 64], 192, { swap: true }],
    ['rank 3, swapped and merged (one output per step)', [5, 4, 64], 1, { swap: true, merge: true }],
    ['rank 3, merged', [3, 2, 7], 5, { merge: true }],
    ['one row, one feature', [1, 1, 1], 3, { swap: true }],
  ];
  for (const [name, shape, outputs, layout] of cases) {
    it(`${name}: output and gradients equal the per-op path`, () => {
      const x = seededTensor(shape, `x-${name}`);
      const w = seededTensor([shape[shape.length - 1], outputs], `w-${name}`, 0.3) as tf.Tensor2D;
      const b = seededTensor([outputs], `b-${name}`) as tf.Tensor1D;
      const ours = run(true, x, w, b, layout);
      const twin = run(false, x, w, b, layout);
      expect(ours.map((t) => t.length)).toEqual(twin.map((t) => t.length));
      ['y', 'dx', 'dw', 'db'].forEach((what, i) => expectClose(ours[i], twin[i], what));
      const shapeOf = (on: boolean) => withOps(on, () => tf.tidy(() => dense(x, w, b, layout).shape));
      expect(shapeOf(true)).toEqual(shapeOf(false));
      tf.dispose([x, w, b]);
    });
  }

  it('runs one TF op forward and one backward, and keeps tf.memory flat', () => {
    const x = seededTensor([4, 5, 64], 'x-count');
    const w = seededTensor([64, 192], 'w-count') as tf.Tensor2D;
    const b = seededTensor([192], 'b-count') as tf.Tensor1D;
    const step = () => tf.tidy(() => tf.grads((xv: tf.Tensor, wv: tf.Tensor, bv: tf.Tensor) => tf.sum(dense(xv, wv as tf.Tensor2D, bv as tf.Tensor1D, { swap: true })))([x, w, b]));
    const opsOf = (on: boolean) => withOps(on, () => bindingCalls(() => tf.dispose(step())).ops);
    // Ours: the op, its gradient op, and Sum with its gradient's fill; the twin: Transpose, Reshape, MatMul, Add, … .
    expect(opsOf(true)).toBeLessThan(opsOf(false) - 8);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) tf.dispose(step());
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, w, b]);
  });

  it('names the op and the mismatch when shapes disagree', () => {
    const x = seededTensor([3, 4], 'x-bad');
    const w = seededTensor([5, 2], 'w-bad') as tf.Tensor2D;
    const b = seededTensor([2], 'b-bad') as tf.Tensor1D;
    expect(() => dense(x, w, b)).toThrow(/SliceseqDense: x has 4 features, w 5 rows/);
    expect(() => dense(x, w.slice([0, 0], [4, 2]) as tf.Tensor2D, seededTensor([3], 'b3') as tf.Tensor1D)).toThrow(/SliceseqDense: bias has 3 values for 2 outputs/);
    expect(() => dense(x, w, b, { swap: true })).toThrow(/swap and merge need a rank-3 x/);
  });

  describe('inside the layers (ops on against off, same weights)', () => {
    /** Output and gradients by the inputs and every trainable weight of `layer`. */
    function layerPass(on: boolean, layer: tf.layers.Layer, inputs: tf.Tensor[], differentiated: number): Float32Array[] {
      return withOps(on, () =>
        tf.tidy(() => {
          const variables = layer.trainableWeights.map((v) => (v as unknown as { val: tf.Variable }).val);
          const inputVars = inputs.slice(0, differentiated).map((t) => tf.variable(t.clone(), true));
          const apply = () => layer.apply([...inputVars, ...inputs.slice(differentiated)].length === 1 ? inputVars[0] : [...inputVars, ...inputs.slice(differentiated)]) as tf.Tensor;
          const y = apply();
          const weights = seededTensor(y.shape, 'layer-output-weights');
          const { grads } = tf.variableGrads(() => tf.sum(tf.mul(apply(), weights)) as tf.Scalar, [...inputVars, ...variables]);
          const result = [y.dataSync() as Float32Array, ...[...inputVars, ...variables].map((v) => grads[v.name].dataSync() as Float32Array)];
          inputVars.forEach((v) => v.dispose());
          return result;
        }),
      );
    }

    function expectLayerParity(layer: tf.layers.Layer, inputs: tf.Tensor[], differentiated: number): void {
      const ours = layerPass(true, layer, inputs, differentiated);
      const twin = layerPass(false, layer, inputs, differentiated);
      expect(ours.length).toBe(twin.length);
      ours.forEach((t, i) => expectClose(t, twin[i], `result ${i}`));
    }

    for (const bidirectional of [false, true]) {
      it(`LSTM label decoder (${bidirectional ? 'bi' : 'uni'}directional)`, () => {
        const layer = new LabelDecoder({ cell: 'lstm', hidden: 8, bidirectional, numClasses: 5, inputs: 'zeros', embeddingSize: 3, seed: 1 });
        const features = seededTensor([4, 16], 'decoder-features');
        layer.apply(features);
        randomizeWeights(layer, `dense-decoder-${bidirectional}`);
        expectLayerParity(layer, [features], 1);
      });

      it(`GRU slice encoder over padded series (${bidirectional ? 'bi' : 'uni'}directional)`, () => {
        const layer = new MaskedRecurrent({ cell: 'gru', hidden: 8, bidirectional, returnSequences: false, seed: 2 });
        const sequence = seededTensor([4, 5, 12], 'encoder-sequence');
        const mask = prefixMask([2, 3, 4, 5], 5);
        layer.apply([sequence, mask]);
        randomizeWeights(layer, `dense-encoder-${bidirectional}`);
        expectLayerParity(layer, [sequence, mask], 1);
      });
    }

    it('the decoder runs fewer kernels with the op', async () => {
      const layer = new LabelDecoder({ cell: 'lstm', hidden: 8, bidirectional: true, numClasses: 5, inputs: 'zeros', embeddingSize: 3, seed: 1 });
      const features = seededTensor([4, 16], 'decoder-count');
      layer.apply(features);
      const count = (on: boolean) => withOps(on, () => kernelCount(() => tf.dispose(layer.apply(features) as tf.Tensor)));
      expect(await count(true)).toBeLessThan((await count(false)) - 4);
    });
  });
});
