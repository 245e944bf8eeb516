import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { initBackend } from '../src/backend/select.ts';
await initBackend('tensorflow', { threads: 1 });
const addon = createRequire(import.meta.url)('../native/tf-ops/build/Release/sliceseq_tf_ops.node');
console.log(addon);
const backend = tf.backend() as any;
const b = backend.binding;
const g = [tf.tensor1d([3, 4]), tf.tensor2d([[12]])];
const out = backend.executeSingleOutput('SliceseqGlobalNorm', [{ name: 'N', type: b.TF_ATTR_INT, value: 2 }], g);
console.log('norm', out.dataSync());
const t = () => { const o = backend.executeSingleOutput('SliceseqGlobalNorm', [{ name: 'N', type: b.TF_ATTR_INT, value: 2 }], g); o.dispose(); };
for (let i = 0; i < 1000; i++) t();
let s = performance.now(); for (let i = 0; i < 20000; i++) t(); console.log('us/op', (performance.now() - s) / 20);
try { backend.executeSingleOutput('SliceseqGlobalNorm', [{ name: 'N', type: b.TF_ATTR_INT, value: 1 }], [tf.tensor1d([1], 'int32')]); } catch (e) { console.log('error:', (e as Error).message.slice(0, 200)); }
