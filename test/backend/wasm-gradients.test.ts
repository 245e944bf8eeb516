import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../helpers/backend.ts';
import { Rng } from '../../src/core/rng.ts';
import { registerWasmTrainingKernels, wasmTrainingKernels } from '../../src/backend/wasm-training-kernels.ts';
import { checkGradientParity, defaultConvCases, relativeError, spreadFilter } from '../../src/backend/gradient-parity.ts';
import { composeWasmKernel } from '../../src/backend/wasm-kernels/kernel-scope.ts';
import { convGeometry } from '../../src/backend/wasm-kernels/conv-geometry.ts';
import { backpropFilterByPatchMatMul, backpropFilterByTransposedConv } from '../../src/backend/wasm-kernels/conv2d-backprop-filter.ts';
import { depthwiseBackpropFilterByPatches, depthwiseBackpropFilterByTransposedConv } from '../../src/backend/wasm-kernels/depthwise-backprop.ts';

beforeAll(async () => {
  await useBackend('wasm');
});

function seeded<Shape extends number[]>(shape: Shape, label: string): { shape: Shape; values: Float32Array } {
  const rng = Rng.derive(11, label);
  const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < values.length; i++) values[i] = rng.normal();
  return { shape, values };
}

/** Runs one kernel on a backend with tfjs's per-kernel leak check on; returns the output values. */
async function runKernelOn(backend: string, kernelName: string, inputs: Record<string, { shape: number[]; values: Float32Array }>, attrs: object): Promise<Float32Array> {
  await tf.setBackend(backend);
  const tensors = Object.fromEntries(Object.entries(inputs).map(([name, { shape, values }]) => [name, tf.tensor(values, shape)]));
  tf.env().set('IS_TEST', true);
  try {
    const out = tf.engine().runKernel(kernelName, tensors, attrs as tf.NamedAttrMap) as tf.Tensor;
    const values = out.dataSync() as Float32Array;
    out.dispose();
    return values;
  } finally {
    tf.env().set('IS_TEST', false);
    tf.dispose(Object.values(tensors));
    await tf.setBackend('wasm');
  }
}

async function expectKernelParity(kernelName: string, inputs: Record<string, { shape: number[]; values: Float32Array }>, attrs: object): Promise<void> {
  const expected = await runKernelOn('cpu', kernelName, inputs, attrs);
  const actual = await runKernelOn('wasm', kernelName, inputs, attrs);
  expect(relativeError(actual, expected).relativeError).toBeLessThan(1e-5);
}

describe('wasm training kernels', () => {
  it('are registered for wasm once, and re-registering changes nothing', () => {
    const count = tf.getKernelsForBackend('wasm').length;
    registerWasmTrainingKernels();
    registerWasmTrainingKernels();
    expect(tf.getKernelsForBackend('wasm').length).toBe(count);
    for (const { kernelName, kernelFunc } of wasmTrainingKernels) expect(tf.getKernel(kernelName, 'wasm').kernelFunc).toBe(kernelFunc);
  });

  it('let tf.grad reach the filter of a conv2d on wasm', () => {
    const before = tf.memory().numTensors;
    const grad = tf.tidy(() => {
      const x = tf.ones([1, 4, 4, 1]) as tf.Tensor4D;
      return tf.grad((f: tf.Tensor) => tf.sum(tf.conv2d(x, f as tf.Tensor4D, 1, 'valid')))(tf.ones([3, 3, 1, 1])).dataSync();
    });
    // Each tap of a 3×3 valid conv over a 4×4 image of ones sees 2×2 ones.
    expect(Array.from(grad)).toEqual(new Array(9).fill(4));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('agree with the cpu kernels on attributes the gradient path never passes (NCHW, ceil rounding, dilation)', async () => {
    const x = seeded([2, 3, 9, 8], 'nchw-x');
    const nchwDy = seeded([2, 4, 5, 4], 'nchw-dy');
    await expectKernelParity(tf.Conv2DBackpropFilter, { x, dy: nchwDy }, { strides: 2, pad: 'same', dataFormat: 'NCHW', filterShape: [3, 3, 3, 4] });
    await expectKernelParity(tf.Conv2DBackpropInput, { dy: nchwDy, filter: seeded([3, 3, 3, 4], 'nchw-f') }, { strides: 2, pad: 'same', dataFormat: 'NCHW', inputShape: [2, 3, 9, 8] });

    // 8 rows, pad 1, filter 3, stride 2: ceil rounding gives 5 output rows where floor gives 4.
    const ceilAttrs = { strides: 2, pad: 1, dataFormat: 'NHWC', dimRoundingMode: 'ceil' };
    const ceilDy = seeded([2, 5, 5, 4], 'ceil-dy');
    await expectKernelParity(tf.Conv2DBackpropFilter, { x: seeded([2, 8, 8, 3], 'ceil-x'), dy: ceilDy }, { ...ceilAttrs, filterShape: [3, 3, 3, 4] });
    await expectKernelParity(tf.Conv2DBackpropInput, { dy: ceilDy, filter: seeded([3, 3, 3, 4], 'ceil-f') }, { ...ceilAttrs, inputShape: [2, 8, 8, 3] });

  });

  it('route max-pool gradients like the cpu backend: first maximum of each window, overlaps summed, padding, ties', async () => {
    const cases: Array<{ shape: [number, number, number, number]; filterSize: [number, number]; strides: [number, number]; pad: 'valid' | 'same'; dimRoundingMode?: 'ceil' }> = [
      { shape: [2, 8, 8, 3], filterSize: [2, 2], strides: [2, 2], pad: 'valid' },
      { shape: [1, 9, 7, 2], filterSize: [3, 3], strides: [2, 2], pad: 'same' },
      { shape: [3, 7, 10, 4], filterSize: [2, 3], strides: [1, 2], pad: 'valid' },
      { shape: [1, 5, 5, 1], filterSize: [2, 2], strides: [2, 2], pad: 'valid', dimRoundingMode: 'ceil' },
    ];
    for (const { shape, ...attrs } of cases) {
      const x = seeded(shape, `pool-${shape.join('x')}`);
      // Half the values clamped to 0, as after a ReLU: many windows are all-zero ties.
      for (let i = 0; i < x.values.length; i++) x.values[i] = Math.max(0, x.values[i]);
      const output = tf.tidy(() => {
        const pooled = tf.maxPool(tf.tensor4d(x.values, shape), attrs.filterSize, attrs.strides, attrs.dimRoundingMode ? 0 : attrs.pad, attrs.dimRoundingMode);
        return { shape: pooled.shape as number[], values: pooled.dataSync() as Float32Array };
      });
      const dy = seeded(output.shape, `pool-dy-${shape.join('x')}`);
      const kernelAttrs = { ...attrs, pad: attrs.dimRoundingMode ? 0 : attrs.pad };
      const expected = await runKernelOn('cpu', tf.MaxPoolGrad, { dy, input: x, output }, kernelAttrs);
      const actual = await runKernelOn('wasm', tf.MaxPoolGrad, { dy, input: x, output }, kernelAttrs);
      expect(relativeError(actual, expected).relativeError, JSON.stringify(attrs)).toBeLessThan(1e-6);
    }
  });

  it('compute dilated depthwise gradients, which the cpu kernels get wrong (they ignore dilations)', async () => {
    const x = seeded([2, 9, 7, 3], 'dw-x');
    const filter = seeded([3, 2, 3, 2], 'dw-f');
    const dy = seeded([2, 9, 7, 6], 'dw-dy');
    const attrs = { strides: 1, dilations: [2, 2], pad: 'same' };
    const dFilter = await runKernelOn('wasm', tf.DepthwiseConv2dNativeBackpropFilter, { x, dy }, { ...attrs, filterShape: filter.shape });
    const dInput = await runKernelOn('wasm', tf.DepthwiseConv2dNativeBackpropInput, { dy, filter }, { ...attrs, inputShape: x.shape });
    // Reference: the same convolution with the filter spread to its dilated footprint, differentiated on cpu.
    await tf.setBackend('cpu');
    const [expectedInput, expectedFilter] = tf.tidy(() => {
      const weights = tf.tensor(dy.values, dy.shape);
      const loss = (input: tf.Tensor, kernel: tf.Tensor) => tf.sum(tf.mul(tf.depthwiseConv2d(input as tf.Tensor4D, spreadFilter(kernel as tf.Tensor4D, [2, 2]), 1, 'same'), weights));
      return tf.grads(loss)([tf.tensor(x.values, x.shape), tf.tensor(filter.values, filter.shape)]).map((g) => g.dataSync() as Float32Array);
    });
    await tf.setBackend('wasm');
    expect(relativeError(dFilter, expectedFilter).relativeError).toBeLessThan(1e-5);
    expect(relativeError(dInput, expectedInput).relativeError).toBeLessThan(1e-5);
    const cpuFilter = await runKernelOn('cpu', tf.DepthwiseConv2dNativeBackpropFilter, { x, dy }, { ...attrs, filterShape: filter.shape });
    expect(relativeError(cpuFilter, expectedFilter).relativeError).toBeGreaterThan(0.1);
  });

  it('name the kernel and the shapes when dy does not fit the convolution', async () => {
    await expect(
      runKernelOn('wasm', tf.Conv2DBackpropFilter, { x: seeded([1, 8, 8, 2], 'bad-x'), dy: seeded([1, 7, 8, 3], 'bad-dy') }, { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 2, 3] }),
    ).rejects.toThrow(/Conv2DBackpropFilter: dy has shape \[1,7,8,3\] but .* outputs \[1,8,8,3\]/);
  });

  it('compute the same filter gradient by transposed convolution and by patches', () => {
    const backend = tf.backend();
    type Shape4 = [number, number, number, number];
    const geometries: Array<{ x: Shape4; filter: Shape4; strides: [number, number]; dilations: number; pad: 'same' | 'valid'; depthwise: boolean }> = [
      { x: [2, 9, 8, 3], filter: [3, 2, 3, 4], strides: [2, 1], dilations: 1, pad: 'valid', depthwise: false },
      { x: [3, 7, 10, 2], filter: [1, 5, 2, 3], strides: [1, 1], dilations: 1, pad: 'same', depthwise: false },
      { x: [2, 10, 9, 3], filter: [3, 3, 3, 2], strides: [1, 1], dilations: 2, pad: 'same', depthwise: true },
      { x: [2, 9, 9, 2], filter: [3, 2, 2, 3], strides: [2, 2], dilations: 1, pad: 'valid', depthwise: true },
    ];
    for (const [i, g] of geometries.entries()) {
      const x = tf.tensor(seeded(g.x, `strategy-x-${i}`).values, g.x) as tf.Tensor4D;
      const info = tf.backend_util.computeConv2DInfo(g.x, g.filter, g.strides, g.dilations, g.pad, undefined, g.depthwise);
      const dy = tf.tensor(seeded(info.outShape, `strategy-dy-${i}`).values, info.outShape);
      const geometry = convGeometry('test', x.shape, g.filter, dy.shape, { strides: g.strides, dilations: g.dilations, pad: g.pad }, g.depthwise);
      const [byConv, byPatches] = g.depthwise ? [depthwiseBackpropFilterByTransposedConv, depthwiseBackpropFilterByPatches] : [backpropFilterByTransposedConv, backpropFilterByPatchMatMul];
      const values = [byConv, byPatches].map((strategy) => {
        const out = composeWasmKernel(backend, (scope) => strategy(scope, x, dy, geometry));
        const read = (backend.readSync(out.dataId) as Float32Array).slice();
        backend.disposeData(out.dataId);
        return read;
      });
      expect(relativeError(values[0], values[1]).relativeError).toBeLessThan(1e-5);
      tf.dispose([x, dy]);
    }
  });
});

describe('gradient parity check', () => {
  it('covers strides 1 and 2, same and valid, dilation 2, non-square filters and images, batch 1 and >1, depthwise', () => {
    const cases = defaultConvCases;
    expect(cases.some((c) => c.strides.includes(2))).toBe(true);
    expect(cases.some((c) => c.strides.every((s) => s === 1))).toBe(true);
    expect(cases.some((c) => c.pad === 'same') && cases.some((c) => c.pad === 'valid')).toBe(true);
    expect(cases.some((c) => c.op === 'conv2d' && c.dilations.includes(2)) && cases.some((c) => c.op === 'depthwise' && c.dilations.includes(2))).toBe(true);
    expect(cases.some((c) => c.filter[0] === 3 && c.filter[1] === 2) && cases.some((c) => c.filter[0] === 1 && c.filter[1] === 5)).toBe(true);
    expect(cases.some((c) => c.height !== c.width)).toBe(true);
    expect(cases.some((c) => c.batch === 1) && cases.some((c) => c.batch > 1)).toBe(true);
    expect(cases.some((c) => c.op === 'depthwise' && c.outChannels > 1)).toBe(true);
  });

  it('passes for every case and the tiny model, leaks nothing and restores the backend', async () => {
    const before = tf.memory().numTensors;
    const report = await checkGradientParity();
    for (const result of [...report.cases, report.model!]) {
      for (const e of result.errors) expect(e.relativeError, `${result.name} ${e.gradient}`).toBeLessThan(1e-4);
    }
    expect(report.cases.map((c) => c.errors.length)).toEqual(defaultConvCases.map(() => 2));
    expect(report.model!.errors.length).toBe(8);
    expect(report.pass).toBe(true);
    expect(tf.getBackend()).toBe('wasm');
    expect(tf.memory().numTensors).toBe(before);
  });

  it('fails when the backends disagree on a gradient', async () => {
    const reference = tf.getKernel(tf.Conv2DBackpropFilter, 'cpu');
    tf.unregisterKernel(tf.Conv2DBackpropFilter, 'cpu');
    // Reverse the reference's filter gradient: right shape, wrong values.
    tf.registerKernel({
      ...reference,
      kernelFunc: (args) => {
        const backend = args.backend as tf.KernelBackend & { makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo };
        const out = reference.kernelFunc(args) as tf.TensorInfo;
        const reversed = (backend.readSync(out.dataId) as Float32Array).slice().reverse();
        backend.disposeData(out.dataId);
        return backend.makeTensorInfo(out.shape, out.dtype, reversed);
      },
    });
    try {
      const report = await checkGradientParity({ cases: defaultConvCases.slice(0, 3), includeModel: false });
      expect(report.pass).toBe(false);
      expect(report.cases.every((c) => !c.pass && c.errors.find((e) => e.gradient === 'filter')!.relativeError > 1e-2)).toBe(true);
      expect(report.cases.every((c) => c.errors.find((e) => e.gradient === 'input')!.relativeError < 1e-4)).toBe(true);
    } finally {
      tf.unregisterKernel(tf.Conv2DBackpropFilter, 'cpu');
      tf.registerKernel(reference);
    }
  });
});

describe('a tf.layers conv model on wasm', () => {
  it('trains: the loss falls over a few Adam steps and the tensor count stays flat', () => {
    const init = (seed: number) => ({ kernelInitializer: tf.initializers.glorotUniform({ seed }), biasInitializer: 'zeros' as const });
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [16, 16, 1], filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', ...init(1) }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', activation: 'relu', depthwiseInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
        tf.layers.conv2d({ filters: 16, kernelSize: [3, 2], strides: 2, padding: 'valid', activation: 'relu', ...init(3) }),
        tf.layers.globalAveragePooling2d({}),
        tf.layers.dense({ units: 3, ...init(4) }),
      ],
    });
    const x = tf.tensor(seeded([8, 16, 16, 1], 'train-x').values, [8, 16, 16, 1]);
    const labels = tf.tensor(Array.from({ length: 24 }, (_, i) => ((i * 7) % 5 < 2 ? 1 : 0)), [8, 3]);
    const optimizer = tf.train.adam(0.05);
    const losses: number[] = [];
    const tensorCounts: number[] = [];
    for (let step = 0; step < 20; step++) {
      const loss = optimizer.minimize(() => tf.losses.sigmoidCrossEntropy(labels, model.apply(x) as tf.Tensor), true)!;
      losses.push(loss.dataSync()[0]);
      loss.dispose();
      tensorCounts.push(tf.memory().numTensors);
    }
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[losses.length - 1]).toBeLessThan(0.7 * losses[0]);
    // Adam creates its moment variables on the first step; afterwards nothing may accumulate.
    expect(new Set(tensorCounts.slice(1)).size).toBe(1);
    tf.dispose([x, labels]);
    optimizer.dispose();
    model.dispose();
  });
});
