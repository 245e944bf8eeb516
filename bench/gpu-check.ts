/**
 * `npm run bench:gpu`: the GPU check of the CUDA 12 build (`npm run native -- --gpu`, docs/gpu.md). On a machine
 * with an NVIDIA GPU it times the reference training step (bench/train-step.ts, the `npm run bench` workload) and
 * `sliceseq run` of the quickstart on the GPU, and the same on the CPU (CUDA_VISIBLE_DEVICES=-1: the CPU build when
 * installed, else the CUDA 12 build on the CPU), each in its own process, and prints ms/step and slices/s side by
 * side as a Markdown table for docs/benchmarks.md.
 *
 *   npm run bench:gpu [-- --steps 20 --warmup 3 --epochs 2 --skip-e2e --allow-no-gpu]
 *
 * Without a GPU it says why and exits with code 2; --allow-no-gpu measures anyway (the "GPU" column then computes on
 * the CPU too), which checks the script itself on any machine.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readCudaBuildStamp } from '../src/backend/gpu-build.ts';
import { gpuBuildDevices, nativePackage } from '../src/backend/select.ts';
import { quickstartDemo } from '../src/cli/commands/quickstart.ts';
import { writeDemoDataset } from '../src/data/demo/dataset.ts';
import { referenceBenchShape } from '../src/models/reference.ts';
import { endToEndQuickstart, timeTrainingStep } from './workloads.ts';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '3' },
    epochs: { type: 'string', default: '2' },
    'skip-e2e': { type: 'boolean', default: false },
    'allow-no-gpu': { type: 'boolean', default: false },
  },
});

const found = nativePackage('@tensorflow/tfjs-node-gpu');
const stamp = found.installed ? readCudaBuildStamp(found.dir) : null;
if (!found.installed || !found.built || !stamp) {
  process.stderr.write('gpu-check: the CUDA 12 build is not installed: run `npm run native -- --gpu` first (docs/gpu.md)\n');
  process.exit(1);
}
const devices = gpuBuildDevices();
const gpu = devices.gpus[0];
if (!devices.computesOnGpu) {
  process.stderr.write(`gpu-check: TensorFlow ${devices.tensorflow} (CUDA 12 build) sees no GPU: ${devices.noGpuReason}\n`);
  if (!values['allow-no-gpu']) process.exit(2);
  process.stderr.write('gpu-check: --allow-no-gpu: measuring anyway; the GPU column computes on the CPU\n');
}
const device = gpu ? `${gpu.name} (compute capability ${gpu.computeCapability}, ${(gpu.memoryMiB / 1024).toFixed(1)} GiB), driver ${devices.driver}` : 'no GPU';
const threads = availableParallelism();
const cpuOnly = { CUDA_VISIBLE_DEVICES: '-1' };

// The reference training step: batch 4 × 16 slices of 64×64×3, per-slice CNN → GRU → LSTM decoder, Adam.
const step = (backend: string, env: NodeJS.ProcessEnv) =>
  timeTrainingStep({ backend, threads, stacking: 'fold', steps: values.steps, warmup: values.warmup, env });
const onGpu = step('tensorflow-gpu', {});
const onCpu = step('tensorflow', cpuOnly);

const fmt = (value: number, digits = 1) => value.toFixed(digits);
const lines = [
  `### GPU check (${new Date().toISOString().slice(0, 10)}): ${device}`,
  '',
  `TensorFlow ${devices.tensorflow} built with CUDA ${stamp!.cuda} / cuDNN ${stamp!.cudnn}; CUDA runtime ${stamp!.wheels['nvidia-cuda-runtime-cu12']}, cuDNN ${stamp!.wheels['nvidia-cudnn-cu12']}. ` +
    `CPU: ${cpus()[0]?.model ?? 'unknown'}, ${threads} threads.`,
  '',
  `| workload | GPU ms/step | GPU slices/s | CPU ms/step | CPU slices/s | GPU / CPU |`,
  '|---|---|---|---|---|---|',
  `| reference step (batch ${referenceBenchShape.batch} × ${referenceBenchShape.slices} slices, median of ${values.steps}) | ${fmt(onGpu.msPerStep)} | ${fmt(onGpu.slicesPerSecond)} | ${fmt(onCpu.msPerStep)} | ${fmt(onCpu.slicesPerSecond)} | ${fmt(onGpu.slicesPerSecond / onCpu.slicesPerSecond, 2)}× |`,
];

if (!values['skip-e2e']) {
  const work = mkdtempSync(join(tmpdir(), 'sliceseq-gpu-check-'));
  try {
    const data = join(work, 'demo-data');
    await writeDemoDataset(data, quickstartDemo);
    const epochs = Number(values.epochs);
    const gpuRun = endToEndQuickstart('tensorflow-gpu', data, join(work, 'gpu'), epochs);
    const cpuRun = endToEndQuickstart('tensorflow', data, join(work, 'cpu'), epochs, cpuOnly);
    // history.jsonl's `step` counts from the start: the last epoch's steps are step / epoch (every epoch is as long).
    const msPerStep = (record: typeof gpuRun) => (1000 * (record.train_seconds as number)) / ((record.step as number) / record.epoch);
    const slices = (record: typeof gpuRun) => record.train_slices_per_second as number;
    lines.push(
      `| sliceseq run quickstart (epoch ${epochs}, data loading included) | ${fmt(msPerStep(gpuRun))} | ${fmt(slices(gpuRun))} | ${fmt(msPerStep(cpuRun))} | ${fmt(slices(cpuRun))} | ${fmt(slices(gpuRun) / slices(cpuRun), 2)}× |`,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
process.stdout.write(`${lines.join('\n')}\n`);
