import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { fusedGlobalNorm } from '../../src/backend/global-norm.ts';
import { setSliceseqOps } from '../../src/backend/sliceseq-ops.ts';
import { oneDnnMaxPoolAvailable } from '../../src/backend/mkl-max-pool.ts';
import { FlatAdamOptimizer } from '../../src/train/flat-adam.ts';
import { FlatMomentumOptimizer } from '../../src/train/flat-momentum.ts';
import { FlatRMSPropOptimizer } from '../../src/train/flat-rmsprop.ts';
import { testBackends, useBackend } from '../helpers/backend.ts';
import { bindingCalls, kernelCount, requireSliceseqOps, seededTensor, tfOpCount, withFused, withSliceseqOps } from '../helpers/fused-parity.ts';

/** Flat Adam, rank-2 MatMul and ReluGrad on the native backend against today's tfjs path. */
const native = testBackends.includes('tensorflow');

const shapes = [[3, 4], [1], [2, 3, 3], [5]];

function makeVariables(label: string): tf.Variable[] {
  return shapes.map((shape, i) => tf.variable(seededTensor(shape, `value-${i}`), true, `${label}_${i}`));
}

function stepBoth(optimizers: tf.Optimizer[], variableSets: tf.Variable[][], step: number): void {
  tf.tidy(() => {
    const grads = shapes.map((shape, i) => seededTensor(shape, `grad-${step}-${i}`));
    optimizers.forEach((optimizer, o) => optimizer.applyGradients(variableSets[o].map((v, i) => ({ name: v.name, tensor: grads[i] }))));
  });
}

const values = (variables: tf.Variable[]) => variables.map((v) => Array.from(v.dataSync()));

describe.skipIf(!native)('fused optimizer and ops on the native backend', () => {
  beforeAll(async () => {
    await useBackend('tensorflow');
  });

  for (const ops of [true, false]) {
    const how = ops ? 'as our op (SliceseqAdam)' : "as TF's ops";
    it(`flat Adam ${how} is bitwise tfjs's per-variable Adam, and its weights round-trip through tfjs's format`, async () => {
      if (ops) requireSliceseqOps();
      await withSliceseqOps(ops, async () => {
        const ours = new FlatAdamOptimizer(0.01, 0.9, 0.999, 1e-7);
        const theirs = tf.train.adam(0.01, 0.9, 0.999, 1e-7);
        const [a, b] = [makeVariables('flat'), makeVariables('per_variable')];
        stepBoth([ours, theirs], [a, b], 0);
        const tensors = tf.memory().numTensors;
        for (let step = 1; step < 5; step++) stepBoth([ours, theirs], [a, b], step);
        expect(tf.memory().numTensors).toBe(tensors);
        expect(values(a)).toEqual(values(b));
        // Per-variable moments out (the checkpoint format) …
        const saved = await ours.getWeights();
        const reference = await theirs.getWeights();
        expect(saved.map((w) => w.name)).toEqual(reference.map((w) => w.name.replace('per_variable', 'flat')));
        saved.forEach((w, i) => expect(Array.from(w.tensor.dataSync())).toEqual(Array.from(reference[i].tensor.dataSync())));
        // … and in, into a fresh optimizer, which then keeps stepping exactly as tfjs's does.
        const resumed = new FlatAdamOptimizer(0.01, 0.9, 0.999, 1e-7);
        await resumed.setWeights(saved);
        (resumed as unknown as { accBeta1: tf.Variable }).accBeta1.assign((ours as unknown as { accBeta1: tf.Variable }).accBeta1);
        (resumed as unknown as { accBeta2: tf.Variable }).accBeta2.assign((ours as unknown as { accBeta2: tf.Variable }).accBeta2);
        for (let step = 5; step < 8; step++) stepBoth([resumed, theirs], [a, b], step);
        expect(values(a)).toEqual(values(b));
        expect(resumed.iterations).toBe(theirs.iterations);
        ours.dispose();
        resumed.dispose();
        theirs.dispose();
        tf.dispose([...a, ...b]);
      });
    });
  }

  it('a flat step uploads its gradients and per-step scalars only (shapes and sizes are kept), freed with the optimizer', () => {
    const variables = makeVariables('uploads');
    const before = tf.memory().numTensors;
    const optimizer = new FlatAdamOptimizer(0.01, 0.9, 0.999, 1e-7);
    const step = () => tf.tidy(() => optimizer.applyGradients(variables.map((v, i) => ({ name: v.name, tensor: seededTensor(shapes[i], `u${i}`) }))));
    step();
    // The gradients and Adam's constants (our op: one vector of 6; TF's ops: 7 scalars and SplitV's axis); no shape
    // vector per variable, no sizes vector.
    requireSliceseqOps();
    expect(bindingCalls(step).uploads).toBe(shapes.length + 1);
    withSliceseqOps(false, step); // TF's ops take the kept positions and shapes, uploaded when an op first takes them
    expect(withSliceseqOps(false, () => bindingCalls(step).uploads)).toBe(shapes.length + 8);
    optimizer.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(variables);
  });

  const flatTwins: Array<[string, () => tf.Optimizer, () => tf.Optimizer]> = [
    ['momentum', () => new FlatMomentumOptimizer(0.05, 0.9, false), () => tf.train.momentum(0.05, 0.9, false)],
    ['Nesterov momentum', () => new FlatMomentumOptimizer(0.05, 0.9, true), () => tf.train.momentum(0.05, 0.9, true)],
    ['RMSProp', () => new FlatRMSPropOptimizer(0.01, 0.9, 0), () => tf.train.rmsprop(0.01, 0.9, 0)],
    ['RMSProp with momentum', () => new FlatRMSPropOptimizer(0.01, 0.8, 0.5), () => tf.train.rmsprop(0.01, 0.8, 0.5)],
  ];
  for (const [[name, flatOne, tfjsOne], ops] of flatTwins.flatMap((twin) => [true, false].map((ops) => [twin, ops] as const))) {
    it(`flat ${name} ${ops ? 'as our op' : "as TF's ops"} is bitwise tfjs's per-variable step in one kernel, tensors flat, weights round-trip`, async () => {
      if (ops) requireSliceseqOps();
      const previous = setSliceseqOps(ops);
      const label = `${name.replace(/ /g, '_')}_${ops}`;
      const [ours, theirs] = [flatOne(), tfjsOne()];
      const [a, b] = [makeVariables(`flat_${label}`), makeVariables(`tfjs_${label}`)];
      stepBoth([ours, theirs], [a, b], 0);
      const tensors = tf.memory().numTensors;
      for (let step = 1; step < 5; step++) stepBoth([ours, theirs], [a, b], step);
      expect(tf.memory().numTensors).toBe(tensors);
      expect(values(a)).toEqual(values(b));
      const gradients = (variables: tf.Variable[]) => variables.map((v, i) => ({ name: v.name, tensor: seededTensor(shapes[i], `g${i}`) }));
      expect(await kernelCount(() => tf.tidy(() => ours.applyGradients(gradients(a))))).toBe(1);
      tf.tidy(() => theirs.applyGradients(gradients(b)));
      const saved = await ours.getWeights();
      const reference = await theirs.getWeights();
      expect(saved.map((w) => w.name)).toEqual(reference.map((w) => w.name.replace('tfjs_', 'flat_')));
      saved.forEach((w, i) => expect(Array.from(w.tensor.dataSync())).toEqual(Array.from(reference[i].tensor.dataSync())));
      const resumed = flatOne();
      await resumed.setWeights(saved);
      for (let step = 5; step < 8; step++) stepBoth([resumed, theirs], [a, b], step);
      expect(values(a)).toEqual(values(b));
      [ours, resumed, theirs].forEach((optimizer) => optimizer.dispose());
      tf.dispose([...a, ...b]);
      setSliceseqOps(previous);
    });
  }

  it('flat Adam runs as one kernel; with fused kernels off it is per-variable', async () => {
    const optimizer = new FlatAdamOptimizer(0.01, 0.9, 0.999, 1e-7);
    const variables = makeVariables('count');
    const step = () => tf.tidy(() => optimizer.applyGradients(variables.map((v, i) => ({ name: v.name, tensor: seededTensor(shapes[i], `g${i}`) }))));
    step();
    expect(await kernelCount(step)).toBe(1);
    expect(await withFused(false, () => kernelCount(step))).toBeGreaterThan(10 * shapes.length);
    optimizer.dispose();
    tf.dispose(variables);
  });

  it('the global gradient norm is one kernel (our op; else one TF op per tensor + 3), equal to the per-tensor ops within 1e-6', async () => {
    requireSliceseqOps();
    for (const scale of [1, 1e-15, 1e15]) {
      const tensors = shapes.map((shape, i) => tf.tidy(() => tf.mul(seededTensor(shape, `norm-${i}`), scale)));
      const norm = () => tf.tidy(() => fusedGlobalNorm(tensors).dataSync()[0]);
      const perTensor = tf.tidy(() => tf.sqrt(tf.addN(tensors.map((g) => tf.sum(tf.square(g))))).dataSync()[0]);
      expect(perTensor).toBeGreaterThan(0);
      for (const ops of [true, false]) expect(Math.abs(withSliceseqOps(ops, norm) - perTensor)).toBeLessThanOrEqual(1e-6 * perTensor);
      expect(await kernelCount(() => void norm())).toBe(1);
      expect(tfOpCount(() => void norm())).toBe(1);
      expect(withSliceseqOps(false, () => tfOpCount(() => void norm()))).toBe(shapes.length + 3);
      tf.dispose(tensors);
    }
    const single = seededTensor([3, 4], 'single');
    const one = tf.tidy(() => fusedGlobalNorm([single]).dataSync()[0]);
    expect(Math.abs(one - tf.tidy(() => tf.norm(single).dataSync()[0]))).toBeLessThanOrEqual(1e-6 * one);
    single.dispose();
  });

  it('rank-2 matMul (MatMul) equals BatchMatMulV2 in every transpose, forward and backward', () => {
    for (const [transposeA, transposeB] of [[false, false], [true, false], [false, true], [true, true]]) {
      const run = () =>
        tf.tidy(() => {
          const a = seededTensor(transposeA ? [5, 3] : [3, 5], 'a');
          const b = seededTensor(transposeB ? [4, 5] : [5, 4], 'b');
          const f = (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D, transposeA, transposeB), seededTensor([3, 4], 'w')));
          return [tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, transposeA, transposeB), ...tf.grads(f)([a, b])].map((t) => Array.from(t.dataSync()));
        });
      const [fused, today] = [withFused(true, run), withFused(false, run)];
      fused.forEach((v, i) => v.forEach((x, j) => expect(Math.abs(x - today[i][j])).toBeLessThan(1e-6)));
    }
  });

  it("max pooling's gradient through oneDNN equals MaxPoolGrad's (bitwise without overlapping windows): ties, ReLU zeros, equal windows, ±0, every padding", () => {
    expect(oneDnnMaxPoolAvailable(tf.backend())).toBe(true);
    const inputs: Array<[string, () => tf.Tensor4D]> = [
      ['random', () => seededTensor([2, 9, 7, 3], 'pool') as tf.Tensor4D],
      ['after ReLU (many zeros)', () => tf.relu(seededTensor([2, 8, 8, 4], 'pool-relu')) as tf.Tensor4D],
      ['ties and ±0', () => tf.tensor4d([1, 1, 0, -0, -0, 0, 2, 2, 2, 2, 5, 5, -1, -1, -1, -1, 3, 0, 3, 0, 0, -0, 7, 7], [1, 4, 6, 1])],
      ['all equal', () => tf.fill([1, 6, 6, 2], 0.5) as tf.Tensor4D],
    ];
    for (const [name, input] of inputs) {
      for (const [size, stride, pad] of [[2, 2, 'same'], [3, 2, 'valid'], [3, 1, 'same'], [3, 2, 1]] as const) {
        const run = () =>
          tf.tidy(() => {
            const x = input();
            const f = (v: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(v as tf.Tensor4D, size, stride, pad), seededTensor(tf.maxPool(x, size, stride, pad).shape, 'dy')));
            return Array.from(tf.grad(f)(x).dataSync());
          });
        const [ours, today] = [withFused(true, run), withFused(false, run)];
        // Each gradient goes to the same position; where windows overlap, the sums into one input pixel are
        // added in another order (differences of a few float32 ulps), elsewhere the result is bitwise the same.
        if (stride >= size) expect(ours, `${name}, ${size}/${stride}/${pad}`).toEqual(today);
        else ours.forEach((v, i) => expect(Math.abs(v - today[i]), `${name}, ${size}/${stride}/${pad}`).toBeLessThan(1e-6));
      }
    }
  });

  it("ReLU's gradient (ReluGrad) is dy where x > 0, else 0 (NaN inputs: 0; today's path: NaN)", () => {
    const run = () =>
      tf.tidy(() => {
        const x = tf.tensor1d([-2, -0, 0, 1e-30, 3, Number.NaN]);
        return Array.from(tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.relu(v), tf.tensor1d([1, 2, 3, 4, 5, 6]))))(x).dataSync());
      });
    expect(withFused(true, run)).toEqual([0, 0, 0, 4, 5, 0]);
    expect(withFused(false, run)).toEqual([0, 0, 0, 4, 5, Number.NaN]);
  });
});
