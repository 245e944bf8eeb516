import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/select.ts';
await initBackend('tensorflow', { threads: 1 });
const backend = tf.backend() as any;
const b = backend.binding;
const x = tf.ones([4, 8]);
const id = backend.getInputTensorIds([x])[0];
const T = { name: 'T', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT };
function time(label: string, f: () => void, n = 20000) {
  for (let i = 0; i < 2000; i++) f();
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) f();
  console.log(label, (Number(process.hrtime.bigint() - t) / n / 1000).toFixed(2), 'us');
}
time('Identity', () => { const o = b.executeOp('Identity', [T], [id], 1); b.deleteTensor(o[0].id); });
time('AddV2', () => { const o = b.executeOp('AddV2', [T], [id, id], 1); b.deleteTensor(o[0].id); });
time('Mul', () => { const o = b.executeOp('Mul', [T], [id, id], 1); b.deleteTensor(o[0].id); });
const y = tf.ones([8, 8]); const yid = backend.getInputTensorIds([y])[0];
const ta = { name: 'transpose_a', type: b.TF_ATTR_BOOL, value: false }; const tb = { name: 'transpose_b', type: b.TF_ATTR_BOOL, value: false };
time('MatMul', () => { const o = b.executeOp('MatMul', [T, ta, tb], [id, yid], 1); b.deleteTensor(o[0].id); });
time('tf.add', () => { const o = tf.add(x, x); o.dispose(); });
time('tf.mul', () => { const o = tf.mul(x, x); o.dispose(); });
time('tf.tidy(mul, add)', () => { tf.tidy(() => tf.add(tf.mul(x, x), x)); });
