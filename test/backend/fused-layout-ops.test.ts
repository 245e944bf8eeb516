import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DENSE, DENSE_OP_MAX_PRODUCT, dense, type DenseLayout } from '../../src/backend/dense.ts';
import { GATHER_ROWS, gatherRows } from '../../src/backend/gather-rows.ts';
import { REDUCE_GRAD } from '../../src/backend/reduce-grad.ts';
import { sliceseqOpReady } from '../../src/backend/sliceseq-ops.ts';
import { LabelDecoder } from '../../src/models/layers/label-decoder.ts';
import { MaskedRecurrent } from '../../src/models/layers/masked-recurrent.ts';
import { FoldSlices, UnfoldSlices } from '../../src/models/layers/slice-folding.ts';
import { testBackends, useBackend } from '../helpers/backend.ts';
import { bindingCalls, kernelCount, maxAbsDifference, prefixMask, randomizeWeights, requireSliceseqOps, seededTensor, withSliceseqOps } from '../helpers/fused-parity.ts';

/**
 * Our layout ops against their twins, the per-op tfjs paths (`setSliceseqOps(false)`), on the same inputs:
 * - the dense op (native/tf-ops/dense.cc, src/backend/dense.ts): outputs and the gradients by x, w and b within
 *   1e-6 of each result's largest magnitude (the op sums the product in another order than Eigen's MatMul;
 *   nothing else differs);
 * - the row gather of slice folding (native/tf-ops/rows.cc, src/backend/gather-rows.ts): folded and unfolded
 *   values and their gradients bitwise (copies only);
 * - Sum's and Mean's gradients (rows.cc, src/backend/reduce-grad.ts): bitwise (the same float32 values).
 * Native backend only; CI builds the module, so a missing one fails here.
 */
const native = testBackends.includes('tensorflow');
const relative = 1e-6;

/** y, and the gradients of sum(y · seeded weights) by each part of x, w and b. */
function run(on: boolean, parts: tf.Tensor[], w: tf.Tensor2D, b: tf.Tensor1D, layout: DenseLayout): Float32Array[] {
  return withSliceseqOps(on, () =>
    tf.tidy(() => {
      const apply = (...args: tf.Tensor[]) => dense(args.slice(0, parts.length), args[parts.length] as tf.Tensor2D, args[parts.length + 1] as tf.Tensor1D, layout);
      const y = apply(...parts, w, b);
      const weights = seededTensor(y.shape, 'dense-output-weights');
      const grads = tf.grads((...args: tf.Tensor[]) => tf.sum(tf.mul(apply(...args), weights)))([...parts, w, b]);
      return [y, ...grads].map((t) => t.dataSync() as Float32Array);
    }),
  );
}

function expectClose(ours: Float32Array, twin: Float32Array, what: string): void {
  const scale = twin.reduce((max, v) => Math.max(max, Math.abs(v)), 0);
  expect(maxAbsDifference(ours, twin), what).toBeLessThanOrEqual(relative * Math.max(scale, 1));
}

beforeAll(async () => {
  if (native) await useBackend('tensorflow');
});

describe.skipIf(!native)('our layout ops on the native backend', () => {
  it('are loaded', () => {
    requireSliceseqOps();
    for (const op of [DENSE, GATHER_ROWS, REDUCE_GRAD]) expect(sliceseqOpReady(op), op).toBe(true);
  });
});

describe.skipIf(!native)('SliceseqDense (our TF op) on the native backend', () => {
  // [name, the parts' shapes, outputs, layout]
  const cases: Array<[string, number[][], number, DenseLayout]> = [
    ['rank 2', [[4, 64]], 64, {}],
    ['rank 3', [[5, 4, 64]], 192, {}],
    ['rank 3, swapped (batch-major → time-major)', [[4, 5, 64]], 192, { swap: true }],
    ['rank 3, swapped and merged (one output per step)', [[5, 4, 64]], 1, { swap: true, merge: true }],
    ['rank 3, merged', [[3, 2, 7]], 5, { merge: true }],
    ['one row, one feature', [[1, 1, 1]], 3, { swap: true }],
    ['two parts, rank 2', [[4, 3], [4, 5]], 6, {}],
    ['two directions, the second reversed, swapped and merged (the decoder)', [[5, 4, 32], [5, 4, 32]], 1, { swap: true, merge: true, reverseLast: true }],
    ['three parts, the last reversed', [[3, 2, 4], [3, 2, 1], [3, 2, 6]], 4, { reverseLast: true }],
  ];
  for (const [name, shapes, outputs, layout] of cases) {
    it(`${name}: output and gradients equal the per-op path`, () => {
      const parts = shapes.map((shape, i) => seededTensor(shape, `x${i}-${name}`));
      const features = shapes.reduce((sum, shape) => sum + shape[shape.length - 1], 0);
      const w = seededTensor([features, outputs], `w-${name}`, 0.3) as tf.Tensor2D;
      const b = seededTensor([outputs], `b-${name}`) as tf.Tensor1D;
      const ours = run(true, parts, w, b, layout);
      const twin = run(false, parts, w, b, layout);
      expect(ours.map((t) => t.length)).toEqual(twin.map((t) => t.length));
      ['y', ...parts.map((_, i) => `dx${i}`), 'dw', 'db'].forEach((what, i) => expectClose(ours[i], twin[i], what));
      const shapeOf = (on: boolean) => withSliceseqOps(on, () => tf.tidy(() => dense(parts, w, b, layout).shape));
      expect(shapeOf(true)).toEqual(shapeOf(false));
      tf.dispose([...parts, w, b]);
    });
  }

  it('runs one TF op forward and one backward, and keeps tf.memory flat', () => {
    const x = seededTensor([4, 5, 64], 'x-count');
    const w = seededTensor([64, 192], 'w-count') as tf.Tensor2D;
    const b = seededTensor([192], 'b-count') as tf.Tensor1D;
    const step = () => tf.tidy(() => tf.grads((xv: tf.Tensor, wv: tf.Tensor, bv: tf.Tensor) => tf.sum(dense(xv, wv as tf.Tensor2D, bv as tf.Tensor1D, { swap: true })))([x, w, b]));
    const opsOf = (on: boolean) => withSliceseqOps(on, () => bindingCalls(() => tf.dispose(step())).ops);
    // Ours: the op, its gradient op, and Sum with its gradient's fill; the twin: Transpose, Reshape, MatMul, Add, … .
    expect(opsOf(true)).toBeLessThan(opsOf(false) - 8);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) tf.dispose(step());
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, w, b]);
  });

  it(`hands products above ${DENSE_OP_MAX_PRODUCT} multiply-adds to TensorFlow's MatMul, with the same numbers`, () => {
    const x = seededTensor([8, 32, 64], 'x-large');
    const w = seededTensor([64, 1024], 'w-large', 0.1) as tf.Tensor2D;
    const b = seededTensor([1024], 'b-large') as tf.Tensor1D;
    expect(8 * 32 * 64 * 1024).toBeGreaterThan(DENSE_OP_MAX_PRODUCT);
    const run = () => tf.tidy(() => dense(x, w, b, { swap: true }).dataSync() as Float32Array);
    const calls = bindingCalls(() => void run());
    expect(calls.names).not.toContain(DENSE);
    expect(calls.names).toContain('MatMul');
    expect(maxAbsDifference(run(), withSliceseqOps(false, run))).toBe(0);
    tf.dispose([x, w, b]);
  });

  it('names the op and the mismatch when shapes disagree', () => {
    const x = seededTensor([3, 4], 'x-bad');
    const w = seededTensor([5, 2], 'w-bad') as tf.Tensor2D;
    const b = seededTensor([2], 'b-bad') as tf.Tensor1D;
    expect(() => dense(x, w, b)).toThrow(/SliceseqDense: x has 4 features, w 5 rows/);
    expect(() => dense(x, w.slice([0, 0], [4, 2]) as tf.Tensor2D, seededTensor([3], 'b3') as tf.Tensor1D)).toThrow(/SliceseqDense: bias has 3 values for 2 outputs/);
    expect(() => dense(x, w, b, { swap: true })).toThrow(/swap, merge and reverseLast need a rank-3 x/);
    expect(() => dense([x, seededTensor([2, 1], 'x-short')], w, b)).toThrow(/SliceseqDense: x part 1 does not share part 0's leading axes/);
  });

  describe('inside the layers (ops on against off, same weights)', () => {
    /** Output and gradients by the inputs and every trainable weight of `layer`. */
    function layerPass(on: boolean, layer: tf.layers.Layer, inputs: tf.Tensor[], differentiated: number): Float32Array[] {
      return withSliceseqOps(on, () =>
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
      const count = (on: boolean) => withSliceseqOps(on, () => kernelCount(() => tf.dispose(layer.apply(features) as tf.Tensor)));
      expect(await count(true)).toBeLessThan((await count(false)) - 4);
    });
  });
});

describe.skipIf(!native)('SliceseqGatherRows (our TF op) on the native backend', () => {
  /** Fold → a per-row map with weights → unfold: the result and the gradients by the sequence and the map's weights. */
  function foldPass(on: boolean, sequence: tf.Tensor, mask: tf.Tensor2D): Float32Array[] {
    return withSliceseqOps(on, () =>
      tf.tidy(() => {
        const fold = new FoldSlices({ compact: true });
        const unfold = new UnfoldSlices({ compact: true });
        const scale = tf.variable(seededTensor(sequence.shape.slice(2), 'fold-scale'), true, `fold_scale_${on}`);
        const input = tf.variable(sequence.clone(), true, `fold_input_${on}`);
        const forward = () => unfold.apply([tf.mul(fold.apply([input, mask]) as tf.Tensor, scale), mask]) as tf.Tensor;
        const y = forward();
        const weights = seededTensor(y.shape, 'fold-output-weights');
        const { grads } = tf.variableGrads(() => tf.sum(tf.mul(forward(), weights)) as tf.Scalar, [input, scale]);
        const result = [y, grads[input.name], grads[scale.name]].map((t) => t.dataSync() as Float32Array);
        tf.dispose([input, scale]);
        return result;
      }),
    );
  }

  const masks: Array<[string, number[]]> = [
    ['short series', [2, 3, 4, 5]],
    ['a fully padded patient', [3, 0, 5]],
    ['one real slice', [0, 1, 0]],
  ];
  for (const [name, lengths] of masks) {
    for (const shape of [[7], [3, 3, 2]]) {
      it(`${name}, rows of shape [${shape.join(', ')}]: fold and unfold and their gradients are the per-op path's bits`, () => {
        const sequence = seededTensor([lengths.length, 5, ...shape], `fold-${name}`);
        const mask = prefixMask(lengths, 5);
        const ours = foldPass(true, sequence, mask);
        const twin = foldPass(false, sequence, mask);
        ours.forEach((t, i) => expect(Array.from(t), `result ${i}`).toEqual(Array.from(twin[i])));
        tf.dispose([sequence, mask]);
      });
    }
  }

  it('folds and unfolds in one op each way, and keeps tf.memory flat', () => {
    const sequence = seededTensor([4, 5, 6], 'fold-count');
    const mask = prefixMask([2, 3, 4, 5], 5);
    const fold = new FoldSlices({ compact: true });
    const unfold = new UnfoldSlices({ compact: true });
    const step = () => tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(unfold.apply([fold.apply([x, mask]) as tf.Tensor, mask]) as tf.Tensor))(sequence));
    const opsOf = (on: boolean) => withSliceseqOps(on, () => bindingCalls(() => tf.dispose(step())).ops);
    // Ours: two gathers each way, Sum and its gradient's fill; the twin adds a Reshape, a ConcatV2 and a Reshape each way.
    expect(opsOf(true)).toBeLessThanOrEqual(opsOf(false) - 5);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) tf.dispose(step());
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([sequence, mask]);
  });

  it('names the op and the index when an index is outside the rows', () => {
    const x = seededTensor([3, 2], 'gather-bad');
    expect(() => tf.tidy(() => gatherRows(x, Int32Array.from([0, 3]), [2], 1))).toThrow(/SliceseqGatherRows: index 3 at 1 is outside x's 3 rows/);
    expect(() => tf.tidy(() => gatherRows(x, Int32Array.from([-2]), [1], 1))).toThrow(/SliceseqGatherRows: index -2 at 0/);
    x.dispose();
  });
});

describe.skipIf(!native)('SliceseqReduceGrad (our TF op) on the native backend', () => {
  const cases: Array<[number[], number | number[], boolean]> = [
    [[14, 4, 4, 64], [1, 2], false],
    [[3, 5, 5, 2], [1, 2], true],
    [[2, 3, 4], 0, false],
    [[2, 3, 4], [-1], false],
    [[2, 3, 4], [0, 2], true],
    [[6, 7], [0, 1], false],
  ];
  const reductions = { mean: tf.mean, sum: tf.sum } as const;
  for (const [name, reduce] of Object.entries(reductions)) {
    for (const [shape, axis, keepDims] of cases) {
      it(`${name} of [${shape.join(', ')}] over ${JSON.stringify(axis)}${keepDims ? ', dims kept' : ''}: the gradient is tfjs's bits`, () => {
        const x = seededTensor(shape, `reduce-${shape.join('x')}`);
        const gradient = (on: boolean) =>
          withSliceseqOps(on, () =>
            tf.tidy(() => {
              const weights = seededTensor(reduce(x, axis, keepDims).shape, 'reduce-weights');
              // The outer sum over every axis takes the op's path too.
              return Array.from(tf.grad((v: tf.Tensor) => tf.sum(tf.mul(reduce(v, axis, keepDims), weights)))(x).dataSync());
            }),
          );
        expect(gradient(true)).toEqual(gradient(false));
        x.dispose();
      });
    }
  }

  it('global average pooling under a sum: one op per gradient, no ones uploaded', () => {
    const x = seededTensor([14, 4, 4, 64], 'gap');
    const pool = tf.layers.globalAveragePooling2d({});
    const run = () => tf.tidy(() => tf.grad((v: tf.Tensor) => tf.sum(pool.apply(v) as tf.Tensor))(x));
    const calls = (on: boolean) => withSliceseqOps(on, () => bindingCalls(() => tf.dispose(run())));
    const [ours, twin] = [calls(true), calls(false)];
    // Mean and Sum forward; one op per gradient (tfjs: Reshape, Mul, RealDiv for the mean, Reshape, Mul for the sum).
    expect(ours.ops).toBe(4);
    expect(twin.ops).toBe(7);
    expect(ours.uploads).toBeLessThan(twin.uploads);
    x.dispose();
  });
});
