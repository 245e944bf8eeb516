/**
 * One configuration of the reference training workload, timed in its own process (libtensorflow fixes its thread
 * count when it loads, so each thread count needs a fresh process). Prints one JSON line.
 *
 *   npx tsx bench/train-step.ts --backend tensorflow|wasm|cpu [--threads 1] [--stacking fold] [--workload reference|short-series|class-query]
 *     [--fused 1|0] [--steps 20] [--warmup 2] [--profile] [--op-times]
 *
 * Every run counts one step's kernels (tf.profile: the tfjs kernels the step runs) and, on the native backend, the
 * TensorFlow ops it sends through the binding (a fused kernel is one tfjs kernel of many TF ops). --fused 0 turns
 * the native fused kernels off (as SLICESEQ_FUSED=0 does). --profile adds time and count per kernel name (tfjs's
 * profiler reads every kernel's outputs, which inflates small kernels). --op-times adds, for one step on the native
 * backend, the time spent inside tfjs-node's binding per TensorFlow op name (TF's eager dispatch and the op itself;
 * the rest of the step is JavaScript: tfjs's engine, tape and scopes, tfjs-node's tensor wrapping).
 */
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { initBackend, type BackendPreference } from '../src/backend/select.ts';
import { setFusedKernels } from '../src/backend/tf-ops.ts';
import { buildCriterion } from '../src/losses/criterion.ts';
import { buildReferenceBenchModel, type ReferenceBenchWorkload } from '../src/models/reference.ts';
import type { StackingMode } from '../src/models/stack.ts';
import { createOptimizer } from '../src/train/optimizers.ts';
import { trainStep } from '../src/train/step.ts';

export interface StepTiming {
  backend: string;
  threads: number;
  stacking: StackingMode;
  workload: ReferenceBenchWorkload;
  fused: boolean;
  steps: number;
  msPerStep: number;
  /** The median step's CPU time (every thread of the process): at 1 thread the figure a loaded machine distorts least. */
  cpuMsPerStep: number;
  slicesPerSecond: number;
  tensorsBefore: number;
  tensorsAfter: number;
  /** tfjs kernels in one step (tf.profile). */
  kernelsPerStep: number;
  /** TensorFlow ops in one step through tfjs-node's binding (native backend only). */
  tfOpsPerStep: number | null;
  /** The loss of every step, warm-up included: the same seed gives the same losses on every build of a backend. */
  losses: number[];
  profile?: { kernelMs: number; kernels: Array<{ name: string; ms: number; count: number }> };
  /** --op-times: one step's time inside the binding (ms), and per TF op name, with the step's own time. */
  opTimes?: { stepMs: number; bindingMs: number; ops: Array<{ name: string; ms: number; count: number }> };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    threads: { type: 'string', default: '1' },
    stacking: { type: 'string', default: 'fold' },
    workload: { type: 'string', default: 'reference' },
    fused: { type: 'string', default: '1' },
    steps: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '2' },
    profile: { type: 'boolean', default: false },
    'op-times': { type: 'boolean', default: false },
  },
});
const choice = await initBackend(values.backend as BackendPreference, { quiet: true, threads: Number(values.threads) });
const fused = values.fused !== '0';
setFusedKernels(fused);
const stacking = values.stacking as StackingMode;
const workload = values.workload as ReferenceBenchWorkload;
const bench = buildReferenceBenchModel({ stacking, workload });
const criterion = buildCriterion(bench.schema, { groups: { labels: { loss: { name: 'asl' }, weight: 1 } } });
const optimizer = createOptimizer({ name: 'adam', lr: 1e-3 });
const batch = { images: bench.images, mask: bench.mask as tf.Tensor2D, targets: bench.targets };
const losses: number[] = [];
const step = () => losses.push(trainStep(bench.model, criterion, optimizer, batch, { learningRate: 1e-3 }).loss);

// Warm-up: kernel set-up, and Adam's moment variables (created at the first step, not growth).
for (let i = 0; i < Number(values.warmup); i++) step();
const tensorsBefore = tf.memory().numTensors;
const times: number[] = [];
const cpuTimes: number[] = [];
for (let i = 0; i < Number(values.steps); i++) {
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  step();
  times.push(performance.now() - start);
  const cpu = process.cpuUsage(cpuStart);
  cpuTimes.push((cpu.user + cpu.system) / 1000);
}
const tensorsAfter = tf.memory().numTensors;

/**
 * Runs `f` with every call to tfjs-node's binding (executeOp) seen by `onOp(name, ns)`; false off the native backend.
 */
function watchTfOps(f: () => void, onOp: (name: string, ns: number) => void): boolean {
  const backend = tf.backend() as unknown as { binding?: { executeOp: (name: string, ...args: unknown[]) => unknown } };
  const binding = backend.binding;
  if (!binding) return false;
  // The binding object is frozen: watch through a stand-in (the binding as prototype) for the backend's reference.
  const watched = (name: string, ...args: unknown[]) => {
    const start = process.hrtime.bigint();
    const result = binding.executeOp(name, ...args);
    onOp(name, Number(process.hrtime.bigint() - start));
    return result;
  };
  backend.binding = Object.create(binding, { executeOp: { value: watched } }) as typeof binding;
  try {
    f();
  } finally {
    backend.binding = binding;
  }
  return true;
}

/** Counts the calls `f` makes to tfjs-node's binding (executeOp), or null off the native backend. */
function countTfOps(f: () => void): number | null {
  let count = 0;
  return watchTfOps(f, () => count++) ? count : null;
}

/** Time inside the binding per TF op name over one call of `f`, or undefined off the native backend. */
function timeTfOps(f: () => void): StepTiming['opTimes'] {
  const byName = new Map<string, { ms: number; count: number }>();
  const start = performance.now();
  const native = watchTfOps(f, (name, ns) => {
    const entry = byName.get(name) ?? { ms: 0, count: 0 };
    entry.ms += ns / 1e6;
    entry.count += 1;
    byName.set(name, entry);
  });
  const stepMs = performance.now() - start;
  if (!native) return undefined;
  const ops = [...byName].map(([name, entry]) => ({ name, ...entry })).sort((a, b) => b.ms - a.ms);
  return { stepMs, bindingMs: ops.reduce((sum, op) => sum + op.ms, 0), ops };
}
const kernelsPerStep = (await tf.profile(() => void step())).kernels.length;
const tfOpsPerStep = countTfOps(() => void step());
// The median step: a shared machine's occasional stalls move the mean by tens of percent.
const msPerStep = median(times);
const result: StepTiming = {
  backend: choice.kind,
  threads: choice.threads,
  stacking,
  workload,
  fused,
  steps: times.length,
  msPerStep,
  cpuMsPerStep: median(cpuTimes),
  slicesPerSecond: (1000 * bench.realSlices) / msPerStep,
  tensorsBefore,
  tensorsAfter,
  kernelsPerStep,
  tfOpsPerStep,
  losses,
};
if (values.profile) {
  const info = await tf.profile(() => {
    step();
  });
  const byName = new Map<string, { ms: number; count: number }>();
  for (const kernel of info.kernels) {
    const entry = byName.get(kernel.name) ?? { ms: 0, count: 0 };
    entry.ms += Number(kernel.kernelTimeMs);
    entry.count += 1;
    byName.set(kernel.name, entry);
  }
  const kernels = [...byName].map(([name, entry]) => ({ name, ...entry })).sort((a, b) => b.ms - a.ms);
  result.profile = { kernelMs: kernels.reduce((sum, k) => sum + k.ms, 0), kernels };
}
if (values['op-times']) result.opTimes = timeTfOps(() => { for (let i = 0; i < 30; i++) step(); });
bench.dispose();
optimizer.optimizer.dispose();
process.stdout.write(`${JSON.stringify(result)}\n`);
