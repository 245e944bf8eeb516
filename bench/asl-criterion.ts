/**
 * The short-series workload's criterion alone (the asymmetric loss over the reference labels, its reduction and its
 * gradient by the logits) with our TensorFlow op SliceseqAsl on and off (the fused kernel's TF ops), interleaved in
 * one process so that a loaded machine weighs on both alike. Prints one JSON line: per setting the median of
 * `--rounds` blocks of `--calls` calls, wall and CPU ms per call, and the TF ops one call sends.
 *
 *   npx tsx bench/asl-criterion.ts [--threads 1] [--rounds 15] [--calls 200]
 */
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { initBackend } from '../src/backend/select.ts';
import { setSliceseqOps, sliceseqOpsProblem } from '../src/backend/sliceseq-ops.ts';
import { buildCriterion } from '../src/losses/criterion.ts';
import { buildReferenceBenchModel } from '../src/models/reference.ts';

const { values } = parseArgs({ options: { threads: { type: 'string', default: '1' }, rounds: { type: 'string', default: '15' }, calls: { type: 'string', default: '200' } } });
const choice = await initBackend('tensorflow', { quiet: true, threads: Number(values.threads) });
const problem = sliceseqOpsProblem();
if (problem) throw new Error(`bench/asl-criterion: our ops are ${problem}`);

const bench = buildReferenceBenchModel({ workload: 'short-series' });
const criterion = buildCriterion(bench.schema, { groups: { labels: { loss: { name: 'asl' }, weight: 1 } } });
const logits = tf.variable(tf.randomNormal([bench.targets.shape[0], bench.targets.shape[1] ?? 1], 0, 3, 'float32', 23), true, 'asl_bench_logits');
const targets = bench.targets;
const call = () => tf.tidy(() => {
  const { value, grads } = tf.variableGrads(() => criterion(logits, targets).total, [logits]);
  grads[logits.name].dataSync();
  value.dispose();
});

function tfOps(f: () => void): number {
  const backend = tf.backend() as unknown as { binding: { executeOp: (...args: unknown[]) => unknown } };
  const binding = backend.binding;
  let count = 0;
  backend.binding = Object.create(binding, { executeOp: { value: (...args: unknown[]) => (count++, binding.executeOp(...args)) } });
  try {
    f();
  } finally {
    backend.binding = binding;
  }
  return count;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const settings = [true, false];
const wall = new Map<boolean, number[]>(settings.map((s) => [s, []]));
const cpu = new Map<boolean, number[]>(settings.map((s) => [s, []]));
for (const on of settings) {
  setSliceseqOps(on);
  for (let i = 0; i < 20; i++) call();
}
for (let round = 0; round < Number(values.rounds); round++) {
  for (const on of settings) {
    setSliceseqOps(on);
    const start = performance.now();
    const cpuStart = process.cpuUsage();
    for (let i = 0; i < Number(values.calls); i++) call();
    const used = process.cpuUsage(cpuStart);
    wall.get(on)!.push((performance.now() - start) / Number(values.calls));
    cpu.get(on)!.push((used.user + used.system) / 1000 / Number(values.calls));
  }
}
const report = (on: boolean) => {
  setSliceseqOps(on);
  return { msPerCall: median(wall.get(on)!), cpuMsPerCall: median(cpu.get(on)!), tfOpsPerCall: tfOps(call) };
};
console.log(JSON.stringify({ threads: choice.threads, shape: logits.shape, ours: report(true), tfOps: report(false) }));
