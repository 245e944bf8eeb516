/**
 * `npm run bench`: the reference training workload on every backend that loads, beside PyTorch at the same
 * thread counts, in the same run.
 *
 * Workload: per-slice CNN (3 conv blocks 16/32/64 + global average pooling) over 16 slices of 64×64×3 → GRU(64)
 * over slices → bidirectional LSTM decoder(32) → 5 classes, batch 4, ASL loss, Adam. Each configuration runs in its
 * own process (bench/train-step.ts; libtensorflow fixes its threads at load): native (tfjs-node) at 1 and 2 threads,
 * wasm (1 thread; folded and timeDistributed stacking), cpu briefly; PyTorch 1.13 (Debian's python3-torch) and
 * PyTorch 2.x (a venv, below) at 1 and 2 threads. Steady-state slices/s from the median step after warm-up;
 * tf.memory().numTensors before and after (must not grow); preprocessing beside the pydicom + OpenCV twin.
 *
 * End to end: `sliceseq run` of the quickstart (the demo data at its quickstart size, 2 epochs) on native and on wasm;
 * training slices/s of the second epoch including data loading, and the share of it spent waiting for data.
 *
 *   npm run bench -- --scale: the scale benchmark (bench/scale.ts) instead.
 *
 *   npm run bench [-- --steps 20 --warmup 2 --threads 1,2 --cpu-steps 1 --skip-cpu --skip-preprocess --skip-e2e --profile --record]
 *   --record rewrites docs/benchmarks.md with this run's table (date and machine included).
 *   PyTorch 2.x: SLICESEQ_TORCH2_PYTHON, else .venv-torch2/bin/python if present
 *   (`python3 -m venv .venv-torch2 && .venv-torch2/bin/pip install torch==2.13.0`).
 */
import * as tf from '@tensorflow/tfjs';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { probeBackends } from '../src/backend/select.ts';
import { writeFileAtomic } from '../src/core/atomic.ts';
import { projectRoot } from '../src/core/version.ts';
import { writeDemoDataset } from '../src/data/demo/dataset.ts';
import { quickstartDemo } from '../src/cli/commands/quickstart.ts';
import { readHistory, type HistoryRecord } from '../src/runs/history.ts';
import { runDirName } from '../src/runs/layout.ts';
import { benchPreprocess } from './preprocess.ts';
import type { StepTiming } from './train-step.ts';

// `npm run bench -- --scale`: the scale benchmark instead (bench/scale.ts).
if (process.argv.includes('--scale')) {
  await import('./scale.ts');
  process.exit(0);
}

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : fallback;
}
const flag = (name: string) => process.argv.includes(`--${name}`);
const python = process.env.SLICESEQ_PYTHON ?? '/usr/bin/python3';
const torch2Python = process.env.SLICESEQ_TORCH2_PYTHON ?? join(projectRoot, '.venv-torch2', 'bin', 'python');

const steps = option('steps', '20');
const warmup = option('warmup', '2');
const threadCounts = option('threads', '1,2').split(',').map(Number);

/** One configuration in a fresh process. */
function timeTraining(backend: string, threads: number, stacking: string, stepCount = steps, warmupCount = warmup): StepTiming {
  const args = ['--import', 'tsx', join(projectRoot, 'bench', 'train-step.ts'), '--backend', backend, '--threads', String(threads), '--stacking', stacking, '--steps', stepCount, '--warmup', warmupCount];
  if (flag('profile')) args.push('--profile');
  process.stderr.write(`timing ${backend} (${threads} thread${threads === 1 ? '' : 's'}, ${stacking}): ${warmupCount} warm-up + ${stepCount} steps\n`);
  const output = execFileSync(process.execPath, args, { encoding: 'utf8', cwd: projectRoot, stdio: ['ignore', 'pipe', 'ignore'] });
  return JSON.parse(output.trim().split('\n').pop()!) as StepTiming;
}

interface TorchTiming {
  version: string;
  threads: number;
  steps: number;
  seconds_per_step: number;
  slices_per_second: number;
}

function torchTiming(interpreter: string, threads: number): TorchTiming | null {
  try {
    execFileSync(interpreter, ['-c', 'import torch'], { stdio: 'ignore' });
  } catch {
    return null;
  }
  process.stderr.write(`timing PyTorch (${interpreter}, ${threads} thread${threads === 1 ? '' : 's'})\n`);
  const output = execFileSync(interpreter, ['bench/torch_reference.py', '--threads', String(threads), '--steps', steps, '--warmup', warmup], { encoding: 'utf8', cwd: projectRoot });
  return JSON.parse(output) as TorchTiming;
}

function pythonJson(args: string[]): Record<string, number | string> | null {
  try {
    execFileSync(python, ['-c', 'import torch, cv2, pydicom'], { stdio: 'ignore' });
  } catch {
    return null;
  }
  return JSON.parse(execFileSync(python, args, { encoding: 'utf8', cwd: projectRoot })) as Record<string, number | string>;
}

const available = new Set(probeBackends().filter((probe) => probe.available).map((probe) => probe.kind));
const results: StepTiming[] = [];
const torch: Array<TorchTiming & { label: string }> = [];
for (const threads of threadCounts) {
  if (available.has('tensorflow')) results.push(timeTraining('tensorflow', threads, 'fold'));
  for (const [label, interpreter] of [['1.x', python], ['2.x', torch2Python]] as const) {
    if (label === '2.x' && !existsSync(interpreter)) continue;
    const timing = torchTiming(interpreter, threads);
    if (timing) torch.push({ ...timing, label });
  }
}
if (available.has('wasm')) {
  results.push(timeTraining('wasm', 1, 'fold'));
  results.push(timeTraining('wasm', 1, 'timeDistributed'));
}
// The cpu backend takes minutes per step on this workload: one warm-up step and one timed step are enough.
if (!flag('skip-cpu')) results.push(timeTraining('cpu', 1, 'fold', option('cpu-steps', '1'), option('cpu-warmup', '1')));
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

/** `sliceseq run experiments/quickstart.ts` for 2 epochs on `backend`, in a child process; its last epoch's record. */
function endToEnd(backend: string, data: string, out: string): HistoryRecord {
  process.stderr.write(`end to end: sliceseq run experiments/quickstart.ts on ${backend}, 2 epochs\n`);
  const args = ['bin/sliceseq.js', 'run', 'experiments/quickstart.ts', '--data', data, '--out', join(out, backend), '--backend', backend, '--set', 'train.epochs=2', '--force'];
  execFileSync(process.execPath, args, { cwd: projectRoot, stdio: ['ignore', 'ignore', 'ignore'] });
  return readHistory(join(out, backend, runDirName('quickstart', 0, 0))).at(-1)!;
}

const endToEndRuns: Array<{ backend: string; record: HistoryRecord }> = [];
if (!flag('skip-e2e')) {
  const work = mkdtempSync(join(tmpdir(), 'sliceseq-bench-'));
  try {
    const data = join(work, 'demo-data');
    await writeDemoDataset(data, quickstartDemo);
    for (const backend of ['tensorflow', 'wasm']) {
      if (available.has(backend as 'tensorflow' | 'wasm')) endToEndRuns.push({ backend, record: endToEnd(backend, data, join(work, 'runs')) });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const fmt = (x: number, digits = 1) => x.toFixed(digits);
const plural = (n: number) => `${n} thread${n === 1 ? '' : 's'}`;
const lines = [
  `| backend | threads | stacking | steps | median ms/step | slices/s | numTensors before → after |`,
  `|---|---|---|---|---|---|---|`,
  ...results.map((r) => `| ${r.backend} | ${r.threads} | ${r.stacking} | ${r.steps} | ${fmt(r.msPerStep, 0)} | ${fmt(r.slicesPerSecond)} | ${r.tensorsBefore} → ${r.tensorsAfter} |`),
  ...torch.map((t) => `| pytorch ${t.version} (CPU) | ${t.threads} | fold | ${t.steps} | ${fmt(1000 * t.seconds_per_step, 0)} | ${fmt(t.slices_per_second)} | |`),
];
if (endToEndRuns.length > 0) {
  lines.push('', '| end to end (quickstart, epoch 2) | epoch s | training slices/s | waiting for data |', '|---|---|---|---|');
  for (const { backend, record } of endToEndRuns) {
    const wait = record.data_wait_fraction as number | null;
    lines.push(`| ${backend} | ${fmt(record.epoch_seconds as number)} | ${fmt(record.train_slices_per_second as number)} | ${wait === null ? 'n/a' : `${fmt(100 * wait)}%`} |`);
  }
}
const ratios: string[] = [];
const find = (backend: string, threads: number, stacking = 'fold') => results.find((r) => r.backend === backend && r.threads === threads && r.stacking === stacking);
for (const threads of threadCounts) {
  const native = find('tensorflow', threads);
  for (const t of torch.filter((t) => t.threads === threads)) {
    if (native) ratios.push(`native / PyTorch ${t.version}, ${plural(threads)}: ${fmt(native.slicesPerSecond / t.slices_per_second, 2)}`);
  }
}

const wasm = find('wasm', 1);
const cpu = find('cpu', 1);
const native1 = find('tensorflow', 1);
if (native1 && wasm) ratios.push(`native / wasm training, 1 thread: ${fmt(native1.slicesPerSecond / wasm.slicesPerSecond, 2)}×`);
if (wasm && cpu) ratios.push(`wasm / cpu training: ${fmt(wasm.slicesPerSecond / cpu.slicesPerSecond)}×`);
const timeDistributed = find('wasm', 1, 'timeDistributed');
if (wasm && timeDistributed) ratios.push(`folded / timeDistributed (wasm): ${fmt(wasm.slicesPerSecond / timeDistributed.slicesPerSecond, 2)}×`);
const [e2eNative, e2eWasm] = ['tensorflow', 'wasm'].map((backend) => endToEndRuns.find((run) => run.backend === backend)?.record);
if (e2eNative && e2eWasm) {
  ratios.push(`end to end (sliceseq run quickstart, training slices/s with data loading): native / wasm ${fmt((e2eNative.train_slices_per_second as number) / (e2eWasm.train_slices_per_second as number), 2)}×`);
}
const torch1 = torch.find((t) => t.threads === 1 && t.label === '1.x');
if (wasm && torch1) ratios.push(`wasm / PyTorch ${torch1.version}, 1 thread: ${fmt(wasm.slicesPerSecond / torch1.slices_per_second, 3)}`);
for (const { workers, ours, python } of preprocessing) {
  const pythonRate = python ? Number(python.slicesPerSecond) : undefined;
  ratios.push(
    `preprocessing (decode + HU + 3 windows + CLAHE + resize 224), ${workers} worker(s), ${ours.kernels} kernels: ours ${fmt(ours.slicesPerSecond)} slices/s` +
      (pythonRate ? `; pydicom + OpenCV, ${workers} thread(s): ${fmt(pythonRate)} slices/s; ours / Python ${fmt(ours.slicesPerSecond / pythonRate, 3)}` : ''),
  );
}
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, tfjs ${tf.version.tfjs}`;
const leak = results.some((r) => r.tensorsAfter > r.tensorsBefore);
const report = [`Run ${new Date().toISOString().slice(0, 10)} on ${machine}.`, '', ...lines, '', ...ratios.map((r) => `- ${r}`), `- tensors grew during timing: ${leak ? 'YES (leak)' : 'no'}`].join('\n');
process.stdout.write(`${report}\n`);
for (const r of results.filter((r) => r.profile)) {
  const { kernelMs, kernels } = r.profile!;
  process.stdout.write(`\nprofile: ${r.backend}, ${plural(r.threads)}: ${fmt(kernelMs, 0)} ms in ${kernels.reduce((n, k) => n + k.count, 0)} kernels of a ${fmt(r.msPerStep, 0)} ms step\n`);
  for (const k of kernels.slice(0, 12)) process.stdout.write(`  ${k.name.padEnd(28)}${fmt(k.ms).padStart(8)} ms ${String(k.count).padStart(6)}×\n`);
}

if (flag('record')) {
  const header = '# Benchmarks\n\nProduced by `npm run bench -- --record`; see bench/run.ts for the workload. Numbers from a shared 2-core machine vary by ±20% between runs.\n\n';
  writeFileAtomic(join(projectRoot, 'docs', 'benchmarks.md'), `${header}${report}\n`);
}
if (leak) process.exitCode = 1;
