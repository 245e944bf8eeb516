import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/select.ts';
import { setSliceseqOps } from '../src/backend/sliceseq-ops.ts';
import { FlatAdamOptimizer } from '../src/train/flat-adam.ts';
await initBackend('tensorflow', { threads: 1, quiet: true });
const shapes = [[3, 3, 3, 16], [16], [3, 3, 16, 32], [32], [3, 3, 32, 64], [64], [1024, 192], [64, 192], [192], [192], [64, 32], [32], [32, 128], [32, 128], [128], [64, 5], [5], [4096, 16]];
const vars = shapes.map((s, i) => tf.variable(tf.randomNormal(s), true, `v${i}`));
const opt = new FlatAdamOptimizer(0.001, 0.9, 0.999, 1e-7);
const grads = shapes.map((s) => tf.randomNormal(s));
const step = () => tf.tidy(() => opt.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: grads[i] }))));
console.log('params', shapes.reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0));
for (let r = 0; r < 3; r++) for (const on of [true, false]) {
  setSliceseqOps(on);
  for (let i = 0; i < 20; i++) step();
  const t = performance.now(); for (let i = 0; i < 200; i++) step();
  console.log(on ? 'ours' : 'tf  ', ((performance.now() - t) / 200).toFixed(3), 'ms');
}
