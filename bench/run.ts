/**
 * `npm run bench`: the reference training workload on every backend that loads, beside PyTorch at the same
 * thread counts, in the same run.
 *
 * Workload: per-slice CNN (3 conv blocks 16/32/64 + global average pooling) over 16 slices of 64×64×3 → GRU(64)
 * over slices → bidirectional LSTM decoder(32) → 5 classes, batch 4, ASL loss, Adam. Beside it the short-series
 * case (4 patients of 2–5 slices at 32×32, the same design) and the class-query decoder variant
 * (src/models/reference.ts). Each configuration runs in its own process (bench/train-step.ts; libtensorflow fixes
 * its threads at load): native (tfjs-node) with its fused kernels and without (SLICESEQ_FUSED=0) at 1 and 2
 * threads, with kernels per step; wasm (1 thread; folded and timeDistributed stacking), cpu briefly; PyTorch 1.13
 * (Debian's python3-torch) and PyTorch 2.x (a venv, below) at 1 and 2 threads, each with its default OpenMP wait
 * policy and with OMP_WAIT_POLICY=PASSIVE, the better one reported. Steady-state slices/s (real slices) from the
 * median step after warm-up; tf.memory().numTensors before and after (must not grow); preprocessing beside the
 * pydicom + OpenCV twin.
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
import type { HistoryRecord } from '../src/runs/history.ts';
import { benchPreprocess } from './preprocess.ts';
import { endToEndQuickstart, timeTrainingStep, type Workload } from './workloads.ts';
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
function timeTraining(backend: string, threads: number, stacking: string, options: { workload?: Workload; fused?: boolean; steps?: string; warmup?: string } = {}): StepTiming {
  const { steps: stepCount = steps, warmup: warmupCount = warmup, ...rest } = options;
  return timeTrainingStep({ backend, threads, stacking, steps: stepCount, warmup: warmupCount, profile: flag('profile'), ...rest });
}

interface TorchTiming {
  version: string;
  threads: number;
  steps: number;
  seconds_per_step: number;
  slices_per_second: number;
}

/** The short-series case's shape for the PyTorch twin (src/models/reference.ts has ours). */
const torchWorkloadArgs: Record<'reference' | 'short-series', string[]> = {
  reference: [],
  'short-series': ['--slices', '5', '--size', '32', '--lengths', '2,3,4,5'],
};

/**
 * PyTorch on one workload, with its default OpenMP wait policy and with OMP_WAIT_POLICY=PASSIVE (busy-waiting
 * threads help or hurt depending on the machine's load): the faster of the two, and which it was.
 */
function torchTiming(interpreter: string, threads: number, workload: 'reference' | 'short-series'): (TorchTiming & { policy: string }) | null {
  try {
    execFileSync(interpreter, ['-c', 'import torch'], { stdio: 'ignore' });
  } catch {
    return null;
  }
  let best: (TorchTiming & { policy: string }) | null = null;
  for (const policy of ['default', 'PASSIVE']) {
    process.stderr.write(`timing PyTorch (${interpreter}, ${workload}, ${threads} thread${threads === 1 ? '' : 's'}, OMP_WAIT_POLICY ${policy})\n`);
    const env = { ...process.env };
    if (policy === 'PASSIVE') env.OMP_WAIT_POLICY = 'PASSIVE';
    else delete env.OMP_WAIT_POLICY;
    const args = ['bench/torch_reference.py', '--threads', String(threads), '--steps', steps, '--warmup', warmup, ...torchWorkloadArgs[workload]];
    const timing = JSON.parse(execFileSync(interpreter, args, { encoding: 'utf8', cwd: projectRoot, env })) as TorchTiming;
    if (!best || timing.seconds_per_step < best.seconds_per_step) best = { ...timing, policy };
  }
  return best;
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
const torch: Array<TorchTiming & { label: string; policy: string; workload: 'reference' | 'short-series' }> = [];
for (const threads of threadCounts) {
  if (available.has('tensorflow')) {
    for (const workload of ['reference', 'short-series'] as const) {
      for (const fused of [true, false]) results.push(timeTraining('tensorflow', threads, 'fold', { workload, fused }));
    }
    // The class-query decoder variant: at the first thread count only (its kernels per step do not depend on threads).
    if (threads === threadCounts[0]) for (const fused of [true, false]) results.push(timeTraining('tensorflow', threads, 'fold', { workload: 'class-query', fused }));
  }
  for (const [label, interpreter] of [['1.x', python], ['2.x', torch2Python]] as const) {
    if (label === '2.x' && !existsSync(interpreter)) continue;
    for (const workload of ['reference', 'short-series'] as const) {
      const timing = torchTiming(interpreter, threads, workload);
      if (timing) torch.push({ ...timing, label, workload });
    }
  }
}
if (available.has('wasm')) {
  results.push(timeTraining('wasm', 1, 'fold'));
  results.push(timeTraining('wasm', 1, 'timeDistributed'));
}
// The cpu backend takes minutes per step on this workload: one warm-up step and one timed step are enough.
if (!flag('skip-cpu')) results.push(timeTraining('cpu', 1, 'fold', { steps: option('cpu-steps', '1'), warmup: option('cpu-warmup', '1') }));
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

const endToEndRuns: Array<{ backend: string; record: HistoryRecord }> = [];
if (!flag('skip-e2e')) {
  const work = mkdtempSync(join(tmpdir(), 'sliceseq-bench-'));
  try {
    const data = join(work, 'demo-data');
    await writeDemoDataset(data, quickstartDemo);
    for (const backend of ['tensorflow', 'wasm']) {
      if (available.has(backend as 'tensorflow' | 'wasm')) endToEndRuns.push({ backend, record: endToEndQuickstart(backend, data, join(work, 'runs')) });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const fmt = (x: number, digits = 1) => x.toFixed(digits);
const plural = (n: number) => `${n} thread${n === 1 ? '' : 's'}`;
const lines = [
  `| backend | threads | workload | stacking | steps | median ms/step | slices/s | kernels/step (TF ops) | numTensors before → after |`,
  `|---|---|---|---|---|---|---|---|---|`,
  ...results.map((r) => {
    const backend = r.backend === 'tensorflow' ? `tensorflow ${r.fused ? 'fused' : 'unfused'}` : r.backend;
    const kernels = `${r.kernelsPerStep}${r.tfOpsPerStep === null ? '' : ` (${r.tfOpsPerStep})`}`;
    return `| ${backend} | ${r.threads} | ${r.workload} | ${r.stacking} | ${r.steps} | ${fmt(r.msPerStep, 0)} | ${fmt(r.slicesPerSecond)} | ${kernels} | ${r.tensorsBefore} → ${r.tensorsAfter} |`;
  }),
  ...torch.map((t) => `| pytorch ${t.version} (CPU, OMP_WAIT_POLICY ${t.policy}) | ${t.threads} | ${t.workload} | fold | ${t.steps} | ${fmt(1000 * t.seconds_per_step, 0)} | ${fmt(t.slices_per_second)} | | |`),
];
if (endToEndRuns.length > 0) {
  lines.push('', '| end to end (quickstart, epoch 2) | epoch s | training slices/s | waiting for data |', '|---|---|---|---|');
  for (const { backend, record } of endToEndRuns) {
    const wait = record.data_wait_fraction as number | null;
    lines.push(`| ${backend === 'tensorflow' ? 'tensorflow (fused)' : backend} | ${fmt(record.epoch_seconds as number)} | ${fmt(record.train_slices_per_second as number)} | ${wait === null ? 'n/a' : `${fmt(100 * wait)}%`} |`);
  }
}
const ratios: string[] = [];
const find = (backend: string, threads: number, stacking = 'fold', workload: Workload = 'reference', fused = true) =>
  results.find((r) => r.backend === backend && r.threads === threads && r.stacking === stacking && r.workload === workload && r.fused === fused);
for (const threads of threadCounts) {
  const [fused, unfused] = [true, false].map((on) => find('tensorflow', threads, 'fold', 'reference', on));
  for (const t of torch.filter((t) => t.threads === threads && t.workload === 'reference')) {
    if (fused) ratios.push(`native fused / PyTorch ${t.version}, ${plural(threads)}: ${fmt(fused.slicesPerSecond / t.slices_per_second, 2)}`);
  }
  if (fused && unfused) ratios.push(`native fused / unfused, ${plural(threads)}: ${fmt(fused.slicesPerSecond / unfused.slicesPerSecond, 2)}×`);
  const short = find('tensorflow', threads, 'fold', 'short-series');
  for (const t of torch.filter((t) => t.threads === threads && t.workload === 'short-series')) {
    if (short) ratios.push(`short series, native fused / PyTorch ${t.version}, ${plural(threads)}: ${fmt(short.slicesPerSecond / t.slices_per_second, 2)}`);
  }
}
const kernelsFused = find('tensorflow', threadCounts[0]);
const kernelsUnfused = find('tensorflow', threadCounts[0], 'fold', 'reference', false);
if (kernelsFused) ratios.push(`kernels per step, native fused: ${kernelsFused.kernelsPerStep}`);
if (kernelsUnfused) ratios.push(`kernels per step, native unfused: ${kernelsUnfused.kernelsPerStep}`);
const [queryFused, queryUnfused] = [true, false].map((on) => find('tensorflow', threadCounts[0], 'fold', 'class-query', on));
if (queryFused && queryUnfused) {
  ratios.push(
    `class-query decoder, native fused, ${plural(threadCounts[0])}: ${fmt(queryFused.msPerStep, 0)} ms/step, ${queryFused.kernelsPerStep} kernels per step ` +
      `(unfused ${fmt(queryUnfused.msPerStep, 0)} ms, ${queryUnfused.kernelsPerStep} kernels)`,
  );
}

const wasm = find('wasm', 1);
const cpu = find('cpu', 1);
const native1 = find('tensorflow', 1);
if (native1 && wasm) ratios.push(`native / wasm training, 1 thread: ${fmt(native1.slicesPerSecond / wasm.slicesPerSecond, 2)}×`);
if (wasm && cpu) ratios.push(`wasm / cpu training: ${fmt(wasm.slicesPerSecond / cpu.slicesPerSecond)}×`);
const timeDistributed = find('wasm', 1, 'timeDistributed');
if (wasm && timeDistributed) ratios.push(`folded / timeDistributed (wasm): ${fmt(wasm.slicesPerSecond / timeDistributed.slicesPerSecond, 2)}×`);
const [e2eNative, e2eWasm] = ['tensorflow', 'wasm'].map((backend) => endToEndRuns.find((run) => run.backend === backend)?.record);
if (e2eNative) {
  const wait = e2eNative.data_wait_fraction as number | null;
  ratios.push(`end to end (sliceseq run quickstart), native fused: ${fmt(e2eNative.train_slices_per_second as number)} training slices/s, ${wait === null ? 'n/a' : `${fmt(100 * wait)}%`} waiting for data`);
}
if (e2eNative && e2eWasm) {
  ratios.push(`end to end (sliceseq run quickstart, training slices/s with data loading): native / wasm ${fmt((e2eNative.train_slices_per_second as number) / (e2eWasm.train_slices_per_second as number), 2)}×`);
}
const torch1 = torch.find((t) => t.threads === 1 && t.label === '1.x' && t.workload === 'reference');
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
