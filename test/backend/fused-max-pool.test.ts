import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { oneDnnMaxPoolAvailable } from '../../src/backend/mkl-max-pool.ts';
import { testBackends, useBackend } from '../helpers/backend.ts';
import { seededTensor, withFused } from '../helpers/fused-parity.ts';

/**
 * Max-pooling layers keep oneDNN's workspace from the forward pass on the tape (src/backend/mkl-max-pool.ts):
 * gradients against today's path (MaxPool + MaxPoolGrad, fused kernels off) on the same weights, the kernels that
 * run, and the tape's copies freed after each step. Tolerance: bitwise where windows do not overlap; where they do
 * (the same gradients summed into one pixel in another order), 1e-6 of each gradient's largest magnitude. On wasm the layer runs tfjs's MaxPool, unchanged.
 */
const windows = [
  { poolSize: 2, strides: 2, padding: 'same' },
  { poolSize: 2, strides: 2, padding: 'valid' },
  { poolSize: 3, strides: 2, padding: 'valid' },
  { poolSize: 3, strides: 1, padding: 'same' },
] as const;

/**
 * ReLU (ties at 0) → max-pooling layer: output without a tape, and d(weighted sum)/d(input). (No convolution before
 * the ReLU: with fused kernels on it runs oneDNN's, whose sums differ in the last bits; see fused-conv.test.ts.)
 */
function run(window: (typeof windows)[number], label: string): number[][] {
  return tf.tidy(() => {
    const relu = tf.layers.reLU();
    const pool = tf.layers.maxPooling2d(window);
    const x = tf.variable(seededTensor([2, 9, 7, 4], `${label}-x`));
    const forward = () => pool.apply(relu.apply(x)) as tf.Tensor;
    const output = forward();
    const weights = seededTensor(output.shape, `${label}-dy`);
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(forward(), weights)) as tf.Scalar, [x]);
    const result = [output, grads[x.name]].map((t) => Array.from(t.dataSync()));
    x.dispose();
    return result;
  });
}

describe.each(testBackends)('max-pooling layer on %s', (backend) => {
  it('gives the same output and gradients as today’s MaxPool/MaxPoolGrad', async () => {
    await useBackend(backend);
    for (const window of windows) {
      const label = `${window.poolSize}/${window.strides}/${window.padding}`;
      const [ours, today] = [withFused(true, () => run(window, label)), withFused(false, () => run(window, label))];
      if (window.strides >= window.poolSize) expect(ours, label).toEqual(today);
      else
        ours.forEach((values, i) => {
          const scale = Math.max(1, ...today[i].map(Math.abs));
          values.forEach((v, j) => expect(Math.abs(v - today[i][j]), label).toBeLessThan(1e-6 * scale));
        });
    }
  });
});

describe.skipIf(!testBackends.includes('tensorflow'))('max-pool workspace on the native backend', () => {
  it('the gradient consumes the forward pass’s workspace (no pool recomputed); without a tape no workspace is made', async () => {
    await useBackend('tensorflow');
    expect(oneDnnMaxPoolAvailable(tf.backend())).toBe(true);
    const pool = tf.layers.maxPooling2d({ poolSize: 2, strides: 2 });
    const x = tf.variable(seededTensor([1, 8, 8, 3], 'names'));
    const trainingKernels = (await tf.profile(() => tf.dispose(tf.variableGrads(() => tf.sum(pool.apply(x) as tf.Tensor) as tf.Scalar, [x]).grads))).kernels.map((k) => k.name);
    expect(trainingKernels).toContain('SliceseqMaxPool');
    expect(trainingKernels).toContain('SliceseqMaxPoolGrad');
    expect(trainingKernels).not.toContain('MaxPool');
    expect(trainingKernels).not.toContain('MaxPoolGrad');
    const inferenceKernels = (await tf.profile(() => tf.dispose(pool.apply(x) as tf.Tensor))).kernels.map((k) => k.name);
    expect(inferenceKernels).toEqual(['MaxPool']);
    x.dispose();
  });

  it('keeps tf.memory().numTensors flat across training steps (the workspace lives only as long as the tape)', async () => {
    await useBackend('tensorflow');
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', inputShape: [12, 12, 1] }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 1 }),
      ],
    });
    const optimizer = tf.train.sgd(0.01);
    const x = seededTensor([3, 12, 12, 1], 'memory-x');
    const step = () =>
      tf.tidy(() => {
        optimizer.minimize(() => tf.mean(tf.square(model.apply(x) as tf.Tensor)) as tf.Scalar);
      });
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    // A tape whose gradient never reaches the pool (only the dense layer is differentiated) frees it too.
    const dense = model.layers[3].trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
    tf.tidy(() => {
      tf.variableGrads(() => tf.mean(model.apply(x) as tf.Tensor) as tf.Scalar, dense);
    });
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
    optimizer.dispose();
    x.dispose();
  });
});
