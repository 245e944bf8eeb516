/**
 * `npm run bench`: the reference training workload on every backend that loads, beside PyTorch.
 *
 * Workload: per-slice CNN (3 conv blocks 16/32/64 + global average pooling) over 16 slices of 64×64×3 → GRU(64)
 * over slices → bidirectional LSTM decoder(32) → 5 classes, batch 4, ASL loss, Adam. Steady-state training
 * slices/s from the median step after warm-up steps; tf.memory().numTensors before and after (must not grow); folded slices vs
 * tf.layers.timeDistributed; the same model in PyTorch (Debian's python3-torch, same thread count) and the ratio
 * ours/PyTorch; preprocessing throughput beside the pydicom + OpenCV twin.
 *
 *   npm run bench [-- --steps 20 --warmup 2 --cpu-steps 1 --cpu-warmup 1 --skip-cpu --skip-preprocess --record]
 *   --record rewrites docs/benchmarks.md with this run's table (date and machine included).
 */
import * as tf from '@tensorflow/tfjs';
import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { initBackend, probeBackends, type BackendPreference } from '../src/backend/select.ts';
import { writeFileAtomic } from '../src/core/atomic.ts';
import { projectRoot } from '../src/core/version.ts';
import { buildCriterion } from '../src/losses/criterion.ts';
import { buildReferenceBenchModel, referenceBenchShape } from '../src/models/reference.ts';
import type { StackingMode } from '../src/models/stack.ts';
import { createOptimizer } from '../src/train/optimizers.ts';
import { trainStep } from '../src/train/step.ts';
import { benchPreprocess } from './preprocess.ts';

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}
const flag = (name: string) => process.argv.includes(`--${name}`);
const python = process.env.SLICESEQ_PYTHON ?? '/usr/bin/python3';

interface TrainingResult {
  backend: string;
  stacking: StackingMode;
  steps: number;
  slicesPerSecond: number;
  msPerStep: number;
  tensorsBefore: number;
  tensorsAfter: number;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Times `steps` training steps after `warmup` untimed ones (kernel set-up, JIT) on the active backend. */
function timeTraining(backend: string, stacking: StackingMode, warmup: number, steps: number): TrainingResult {
  const bench = buildReferenceBenchModel({ stacking });
  const criterion = buildCriterion(bench.schema, { groups: { labels: { loss: { name: 'asl' }, weight: 1 } } });
  const optimizer = createOptimizer({ name: 'adam', lr: 1e-3 });
  const batch = { images: bench.images, mask: bench.mask as tf.Tensor2D, targets: bench.targets };
  const step = () => trainStep(bench.model, criterion, optimizer, batch, { learningRate: 1e-3 });
  for (let i = 0; i < warmup; i++) step();
  const tensorsBefore = tf.memory().numTensors;
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const start = performance.now();
    step();
    times.push(performance.now() - start);
  }
  const tensorsAfter = tf.memory().numTensors;
  bench.dispose();
  optimizer.optimizer.dispose();
  // The median step: a shared machine's occasional stalls move the mean by tens of percent.
  const msPerStep = median(times);
  const slicesPerStep = referenceBenchShape.batch * referenceBenchShape.slices;
  return { backend, stacking, steps, slicesPerSecond: (1000 * slicesPerStep) / msPerStep, msPerStep, tensorsBefore, tensorsAfter };
}

function pythonJson(args: string[]): Record<string, number | string> | null {
  try {
    execFileSync(python, ['-c', 'import torch, cv2, pydicom'], { stdio: 'ignore' });
  } catch {
    return null;
  }
  return JSON.parse(execFileSync(python, args, { encoding: 'utf8', cwd: projectRoot })) as Record<string, number | string>;
}

const steps = option('steps', 20);
const warmup = option('warmup', 2);
const results: TrainingResult[] = [];
const available = probeBackends().filter((probe) => probe.available).map((probe) => probe.kind);
for (const kind of available) {
  if (kind === 'cpu' && flag('skip-cpu')) continue;
  const preference: BackendPreference = kind.startsWith('tensorflow') ? 'tensorflow' : (kind as BackendPreference);
  const choice = await initBackend(preference, { quiet: true });
  // The cpu backend takes minutes per step on this workload: one warm-up step (it also creates Adam's moment
  // variables, which must not count as growth) and one timed step are enough.
  const [w, n] = kind === 'cpu' ? [option('cpu-warmup', 1), option('cpu-steps', 1)] : [warmup, steps];
  process.stderr.write(`timing ${choice.kind} (${choice.device}): ${w} warm-up + ${n} steps\n`);
  results.push(timeTraining(choice.kind, 'fold', w, n));
  if (kind === 'wasm') results.push(timeTraining(choice.kind, 'timeDistributed', w, n));
}

const wasm = results.find((r) => r.backend === 'wasm' && r.stacking === 'fold');
const torch = pythonJson(['bench/torch_reference.py', '--threads', '1', '--steps', String(steps), '--warmup', String(warmup)]);
// Preprocessing at equal parallelism: our decode workers beside pydicom + OpenCV with as many threads.
const preprocessing = flag('skip-preprocess')
  ? []
  : await (async () => {
      const rows = [];
      for (const workers of [1, 2]) {
        rows.push({ workers, ours: await benchPreprocess({ workers }), python: pythonJson(['bench/preprocess.py', '--threads', String(workers)]) });
      }
      return rows;
    })();

const fmt = (x: number, digits = 1) => x.toFixed(digits);
const lines = [
  `| backend | stacking | steps | median ms/step | slices/s | numTensors before → after |`,
  `|---|---|---|---|---|---|`,
  ...results.map((r) => `| ${r.backend} | ${r.stacking} | ${r.steps} | ${fmt(r.msPerStep, 0)} | ${fmt(r.slicesPerSecond)} | ${r.tensorsBefore} → ${r.tensorsAfter} |`),
];
if (torch) lines.push(`| pytorch ${torch.version} (CPU, ${torch.threads} thread) | fold | ${torch.steps} | ${fmt(1000 * Number(torch.seconds_per_step), 0)} | ${fmt(Number(torch.slices_per_second))} | |`);
const ratios: string[] = [];
const cpu = results.find((r) => r.backend === 'cpu');
if (wasm && cpu) ratios.push(`wasm / cpu training: ${fmt(wasm.slicesPerSecond / cpu.slicesPerSecond)}×`);
const timeDistributed = results.find((r) => r.stacking === 'timeDistributed');
if (wasm && timeDistributed) ratios.push(`folded / timeDistributed (wasm): ${fmt(wasm.slicesPerSecond / timeDistributed.slicesPerSecond, 2)}×`);
if (wasm && torch) ratios.push(`ours (wasm) / PyTorch training: ${fmt(wasm.slicesPerSecond / Number(torch.slices_per_second), 3)}`);
for (const { workers, ours, python } of preprocessing) {
  const pythonRate = python ? Number(python.slicesPerSecond) : undefined;
  ratios.push(
    `preprocessing (decode + HU + 3 windows + CLAHE + resize 224), ${workers} worker(s): ours ${fmt(ours.slicesPerSecond)} slices/s` +
      (pythonRate ? `; pydicom + OpenCV, ${workers} thread(s): ${fmt(pythonRate)} slices/s; ours / Python ${fmt(ours.slicesPerSecond / pythonRate, 3)}` : ''),
  );
}
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, tfjs ${tf.version.tfjs}`;
const leak = results.some((r) => r.tensorsAfter > r.tensorsBefore);
const report = [`Run ${new Date().toISOString().slice(0, 10)} on ${machine}.`, '', ...lines, '', ...ratios.map((r) => `- ${r}`), `- tensors grew during timing: ${leak ? 'YES (leak)' : 'no'}`].join('\n');
process.stdout.write(`${report}\n`);

if (flag('record')) {
  const header = '# Benchmarks\n\nProduced by `npm run bench -- --record`; see bench/run.ts for the workload. Numbers from a shared 2-core machine vary by ±20% between runs.\n\n';
  writeFileAtomic(join(projectRoot, 'docs', 'benchmarks.md'), `${header}${report}\n`);
}
if (leak) process.exitCode = 1;
