import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { CONV2D, oneDnnConvAvailable } from '../../src/backend/conv.ts';
import { buildModel } from '../../src/models/build.ts';
import { referenceBenchConfig } from '../../src/models/reference.ts';
import { Rng } from '../../src/core/rng.ts';
import { binarySchema } from '../../src/labels/schema.ts';
import { nativeTestBackend, testBackends, useBackend } from '../helpers/backend.ts';
import { kernelCount, maxAbsDifference, pass, prefixMask, seededTensor, withFused } from '../helpers/fused-parity.ts';

/**
 * The Conv2D layer as one kernel (`SliceseqConv2D`: oneDNN's convolution + bias, then Relu) and tfjs's convolution
 * kernels through oneDNN (src/backend/conv.ts), against today's path (fused kernels off: TF's Conv2D, Add, Relu and
 * their gradients) on the same weights. Tolerance: 1e-5 of each result's largest magnitude (oneDNN sums the
 * products in another order; measured differences are below 1e-6 of it); ReLU's gradient where the pre-activation is exactly 0 (zero input, zero bias) is
 * checked to be exactly 0. On the GPU package (or a build without oneDNN) the kernel runs TF's Conv2D, BiasAdd and
 * Relu; the same tests hold.
 */
const native = testBackends.includes('tensorflow') || testBackends.includes('tensorflow-gpu');
const tolerance = 1e-5;

function expectClose(ours: Float32Array, today: Float32Array, label: string): void {
  const scale = Math.max(1e-6, ...Array.from(today, Math.abs));
  expect(maxAbsDifference(ours, today), label).toBeLessThanOrEqual(tolerance * scale);
}

const layers = [
  { activation: 'relu', useBias: true, padding: 'same', strides: 1 },
  { activation: 'relu', useBias: true, padding: 'valid', strides: 1 },
  { activation: 'relu', useBias: true, padding: 'same', strides: 2 },
  { activation: 'linear', useBias: true, padding: 'valid', strides: 2 },
  { activation: 'relu', useBias: false, padding: 'same', strides: 1 },
  { activation: 'linear', useBias: false, padding: 'same', strides: 1 },
] as const;

describe.skipIf(!native)('fused convolution on the native backend', () => {
  it('the Conv2D layer gives today’s output and gradients for input, kernel and bias (padding, strides, activation, bias)', async () => {
    await useBackend(nativeTestBackend);
    for (const options of layers) {
      const label = JSON.stringify(options);
      const layer = tf.layers.conv2d({ filters: 5, kernelSize: 3, ...options });
      layer.build([null, 9, 8, 3]);
      layer.setWeights(layer.getWeights().map((w, i) => seededTensor(w.shape, `${label}-w${i}`, 0.5)));
      const x = seededTensor([3, 9, 8, 3], `${label}-x`);
      const forward = ([input]: tf.Tensor[]) => layer.apply(input) as tf.Tensor;
      const [ours, today] = [pass(true, layer, [x], forward), pass(false, layer, [x], forward)];
      expectClose(ours.outputs, today.outputs, `${label} output`);
      expect(ours.grads).toHaveLength(options.useBias ? 3 : 2);
      ours.grads.forEach((grad, i) => expectClose(grad, today.grads[i], `${label} gradient ${i}`));
      x.dispose();

    }
  });

  it('ReLU’s gradient is exactly 0 where the pre-activation is exactly 0 (a blank slice, zero bias)', async () => {
    await useBackend(nativeTestBackend);
    const layer = tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'relu' });
    layer.build([null, 6, 6, 2]);
    layer.setWeights([seededTensor([3, 3, 2, 3], 'zero-kernel'), tf.tensor1d([0, 0.5, -0.5])]);
    // A blank slice (a padded patient's): every pre-activation is the bias, so exactly 0 in channel 0.
    const x = tf.zeros([1, 6, 6, 2]);
    const forward = ([input]: tf.Tensor[]) => layer.apply(input) as tf.Tensor;
    const [ours, today] = [pass(true, layer, [x], forward), pass(false, layer, [x], forward)];
    expect(ours.outputs).toEqual(today.outputs);
    const [, , biasGrad] = ours.grads;
    expect([biasGrad[0], biasGrad[2]]).toEqual([0, 0]);
    expect(biasGrad[1]).not.toBe(0);
    ours.grads.forEach((grad, i) => expectClose(grad, today.grads[i], `gradient ${i}`));
    expect(ours.grads[2]).toEqual(today.grads[2]);
    x.dispose();

  });

  it('runs one kernel per layer forward, no Conv2D/Add/Relu, and convolutions through oneDNN on the CPU package', async () => {
    await useBackend(nativeTestBackend);
    if (nativeTestBackend === 'tensorflow') expect(oneDnnConvAvailable(tf.backend())).toBe(true);
    const layer = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' });
    const x = tf.variable(seededTensor([2, 8, 8, 3], 'names'));
    layer.build([null, 8, 8, 3]);
    const profiled = async (fused: boolean) =>
      (await tf.profile(() => withFused(fused, () => tf.dispose(tf.variableGrads(() => tf.sum(layer.apply(x) as tf.Tensor) as tf.Scalar).grads)))).kernels.map((k) => k.name);
    const ours = await profiled(true);
    expect(ours).toContain(CONV2D);
    expect(ours).toContain('SliceseqBiasAddGrad');
    for (const name of ['Conv2D', 'Add', 'Relu', 'FusedConv2D']) expect(ours).not.toContain(name);
    expect((await profiled(false)).filter((name) => name === CONV2D)).toEqual([]);
    x.dispose();

  });

  it('direct convolutions (strides 2, 1×1 strided, dilations, explicit padding) give today’s output and gradients', async () => {
    await useBackend(nativeTestBackend);
    // 1×1 with stride 2 keeps TF's ops (oneDNN's filter gradient corrupts memory there): run it a few times.
    const cases: Array<{ strides: number; pad: 'same' | 'valid' | number; dilations: number; k?: number }> = [
      { strides: 2, pad: 'same', dilations: 1 },
      { strides: 1, pad: 'valid', dilations: 1 },
      { strides: 1, pad: 'same', dilations: 2 },
      { strides: 2, pad: 1, dilations: 1 },
      ...Array.from({ length: 4 }, () => ({ strides: 2, pad: 'same' as const, dilations: 1, k: 1 })),
    ];
    for (const c of cases) {
      const label = JSON.stringify(c);
      const run = (fused: boolean) =>
        withFused(fused, () =>
          tf.tidy(() => {
            const x = tf.variable(seededTensor([2, 8, 8, 3], `${label}-x`));
            const filter = tf.variable(seededTensor([c.k ?? 3, c.k ?? 3, 3, 4], `${label}-f`));
            const f = () => tf.conv2d(x as tf.Tensor4D, filter as tf.Tensor4D, c.strides, c.pad, 'NHWC', c.dilations);
            const output = f().dataSync() as Float32Array;
            // tfjs differentiates dilated convolutions only with strides 1 and no dilation: gradients where it can.
            const grads = c.dilations === 1 ? Object.values(tf.variableGrads(() => tf.sum(tf.mul(f(), seededTensor(f().shape, `${label}-dy`))) as tf.Scalar, [x, filter]).grads) : [];
            const result = [output, ...grads.map((g) => g.dataSync() as Float32Array)];
            tf.dispose([x, filter]);
            return result;
          }),
        );
      const [ours, today] = [run(true), run(false)];
      ours.forEach((values, i) => expectClose(values, today[i], `${label} ${i}`));
    }
  });

  it('the slice CNN inside the model (padded and fully padded patients) gives today’s loss and gradients in fewer kernels', async () => {
    await useBackend(nativeTestBackend);
    const schema = binarySchema(['a', 'b']);
    const model = buildModel(referenceBenchConfig(), { schema, rng: Rng.derive(5, 'model'), inputShape: { slices: 4, height: 16, width: 16, channels: 3 }, level: 'patient' });
    const mask = prefixMask([4, 2, 0], 4);
    const images = tf.mul(seededTensor([3, 4, 16, 16, 3], 'images'), mask.reshape([3, 4, 1, 1, 1]));
    const targets = tf.tensor2d([[1, 0], [0, 1], [1, 1]]);
    const variables = model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
    const step = () => tf.losses.sigmoidCrossEntropy(targets, model.apply([images, mask], { training: true }) as tf.Tensor) as tf.Scalar;
    const run = (fused: boolean) =>
      withFused(fused, () =>
        tf.tidy(() => {
          const { value, grads } = tf.variableGrads(step, variables);
          return [value.dataSync() as Float32Array, ...variables.map((v) => grads[v.name].dataSync() as Float32Array)];
        }),
      );
    const [ours, today] = [run(true), run(false)];
    expect(ours.length).toBe(today.length);
    ours.forEach((values, i) => expectClose(values, today[i], `${i === 0 ? 'loss' : variables[i - 1].name}`));
    const kernels = (fused: boolean) => kernelCount(() => withFused(fused, () => tf.tidy(() => tf.variableGrads(step, variables))));
    expect(await kernels(true)).toBeLessThan(await kernels(false));
    tf.dispose([mask, images, targets]);
    model.dispose();
  });

  it('keeps tf.memory().numTensors flat across training steps', async () => {
    await useBackend(nativeTestBackend);
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', inputShape: [12, 12, 2] }),
        tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, useBias: false }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 1 }),
      ],
    });
    const optimizer = tf.train.adam(0.01);
    const x = seededTensor([3, 12, 12, 2], 'memory-x');
    const step = () => tf.tidy(() => void optimizer.minimize(() => tf.mean(tf.square(model.apply(x) as tf.Tensor)) as tf.Scalar));
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    // Inference (no tape) runs the kernel too and leaves nothing behind.
    tf.dispose(model.predict(x) as tf.Tensor);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
    optimizer.dispose();
    x.dispose();
  });
});
