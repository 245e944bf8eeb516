/**
 * Training-step benchmark for the wasm convolution gradients (src/backend/wasm-kernels).
 *
 *   npx tsx bench/wasm-training-step.ts [--batch 64] [--size 64] [--wasm-steps 5] [--cpu-steps 2] [--skip-cpu]
 *
 * 1. Kernel timings at the model's layer shapes: filter gradient as transposed convolution vs per-tap
 *    patches + matMul, input gradient as ours vs the wasm package's own Conv2DBackpropInput loop.
 * 2. ms per training step (forward + backward + Adam update) of a 3-block conv net (16/32/64 channels, 3×3,
 *    max-pool 2, global average pooling, dense 14) on wasm and on the cpu backend, and their ratio.
 * 3. Where a wasm step's time goes, per kernel (tf.profile).
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '../src/backend/wasm-training-kernels.ts';
import { composeWasmKernel } from '../src/backend/wasm-kernels/kernel-scope.ts';
import { convGeometry } from '../src/backend/wasm-kernels/conv-geometry.ts';
import { backpropFilterByPatchMatMul, backpropFilterByTransposedConv } from '../src/backend/wasm-kernels/conv2d-backprop-filter.ts';

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}
const batch = option('batch', 64);
const size = option('size', 64);
const wasmSteps = option('wasm-steps', 5);
const cpuSteps = option('cpu-steps', 2);
const skipCpu = process.argv.includes('--skip-cpu');

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function timeMs(fn: () => void, repeats: number): number {
  fn();
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const start = performance.now();
    fn();
    times.push(performance.now() - start);
  }
  return median(times);
}

type Shape4 = [number, number, number, number];
const layers: Array<{ name: string; x: Shape4; filter: Shape4 }> = [
  { name: 'block1', x: [batch, size, size, 3], filter: [3, 3, 3, 16] },
  { name: 'block2', x: [batch, size / 2, size / 2, 16], filter: [3, 3, 16, 32] },
  { name: 'block3', x: [batch, size / 4, size / 4, 32], filter: [3, 3, 32, 64] },
];

async function kernelTimings(): Promise<void> {
  await tf.setBackend('wasm');
  const packageInputGradient = tf.getKernel(tf.Conv2DBackpropInput, 'wasm').kernelFunc;
  registerWasmTrainingKernels();
  const oursInputGradient = tf.getKernel(tf.Conv2DBackpropInput, 'wasm').kernelFunc;
  const backend = tf.backend();
  console.log('kernel timings on wasm (median ms)');
  console.log('layer   forward  dW transposed-conv  dW patch-matMul  dX ours  dX wasm package');
  for (const layer of layers) {
    const x = tf.randomNormal(layer.x) as tf.Tensor4D;
    const filter = tf.randomNormal(layer.filter) as tf.Tensor4D;
    const dy = tf.randomNormal([batch, layer.x[1], layer.x[2], layer.filter[3]]);
    const g = convGeometry('bench', x.shape, layer.filter, dy.shape, { strides: 1, pad: 'same' }, false);
    const strategy = (fn: typeof backpropFilterByTransposedConv) => () => backend.disposeData(composeWasmKernel(backend, (scope) => fn(scope, x, dy, g)).dataId);
    const inputGradient = (kernelFunc: tf.KernelFunc) => () => {
      const out = kernelFunc({ inputs: { dy, filter }, backend, attrs: { strides: 1, pad: 'same', dataFormat: 'NHWC', inputShape: layer.x } }) as tf.TensorInfo;
      backend.disposeData(out.dataId);
    };
    const row = [
      timeMs(() => tf.conv2d(x, filter, 1, 'same').dispose(), 3),
      timeMs(strategy(backpropFilterByTransposedConv), 3),
      timeMs(strategy(backpropFilterByPatchMatMul), 2),
      timeMs(inputGradient(oursInputGradient), 3),
      timeMs(inputGradient(packageInputGradient), 2),
    ];
    console.log(`${layer.name.padEnd(8)}${row.map((ms, i) => ms.toFixed(1).padStart([7, 19, 17, 9, 17][i])).join('')}`);
    tf.dispose([x, filter, dy]);
  }
}

function convNet(): tf.Sequential {
  const model = tf.sequential();
  for (const [i, filters] of [16, 32, 64].entries()) {
    model.add(tf.layers.conv2d({ filters, kernelSize: 3, padding: 'same', activation: 'relu', ...(i === 0 ? { inputShape: [size, size, 3] } : {}) }));
    if (i < 2) model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  }
  model.add(tf.layers.globalAveragePooling2d({}));
  model.add(tf.layers.dense({ units: 14 }));
  return model;
}

/** Median ms of one forward + backward + Adam step, after one warm-up step. */
async function stepTime(backend: string, steps: number): Promise<{ ms: number; profile: Map<string, number> }> {
  await tf.setBackend(backend);
  const model = convNet();
  const optimizer = tf.train.adam(1e-3);
  const x = tf.randomNormal([batch, size, size, 3]);
  const labels = tf.tidy(() => tf.cast(tf.greater(tf.randomUniform([batch, 14]), 0.7), 'float32'));
  const step = () => {
    const loss = optimizer.minimize(() => tf.losses.sigmoidCrossEntropy(labels, model.apply(x) as tf.Tensor), true);
    loss?.dataSync();
    loss?.dispose();
  };
  const ms = timeMs(step, steps);
  const profile = new Map<string, number>();
  if (backend === 'wasm') {
    const info = await tf.profile(step);
    for (const kernel of info.kernels) profile.set(kernel.name, (profile.get(kernel.name) ?? 0) + (kernel.kernelTimeMs as number));
  }
  tf.dispose([x, labels]);
  optimizer.dispose();
  model.dispose();
  return { ms, profile };
}

await kernelTimings();
const wasm = await stepTime('wasm', wasmSteps);
console.log(`\ntraining step, ${batch} images of ${size}x${size}x3: wasm ${wasm.ms.toFixed(0)} ms/step`);
const total = [...wasm.profile.values()].reduce((a, b) => a + b, 0);
console.log(`wasm step by kernel (tf.profile, ${total.toFixed(0)} ms in kernels):`);
for (const [name, ms] of [...wasm.profile].sort((a, b) => b[1] - a[1]).slice(0, 12)) {
  console.log(`  ${name.padEnd(28)}${ms.toFixed(1).padStart(8)} ms ${((100 * ms) / total).toFixed(1).padStart(5)}%`);
}
if (!skipCpu) {
  const cpu = await stepTime('cpu', cpuSteps);
  console.log(`cpu ${cpu.ms.toFixed(0)} ms/step; wasm is ${(cpu.ms / wasm.ms).toFixed(1)}x faster`);
}
