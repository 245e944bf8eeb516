/**
 * Milliseconds for the GRU sequence kernels (src/backend/gru.ts), forward and backward, with sliceseq's ops
 * (native/tf-ops/gru.cc) against the TF-ops path, on the short-series encoder's size (B 4, H 64, T 5), the
 * reference's (B 4, H 64, T 16) and larger ones, every step real. The two paths alternate rep by rep (a loaded
 * machine shifts both alike); each figure is the median of the reps. The ops run by name here, whatever gru.ts's
 * size rule (GRU_OP_MAX_PRODUCT) says: the rule comes from this table.
 *
 *   npx tsx bench/gru-op.ts [--threads 1] [--reps 30] [--sizes 4x64x5,4x64x16,16x256x32]
 */
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { initBackend } from '../src/backend/select.ts';
import { GRU_SEQUENCE, GRU_SEQUENCE_GRAD, type GruAttrs } from '../src/backend/gru.ts';
import { setSliceseqOps, sliceseqOpsProblem } from '../src/backend/sliceseq-ops.ts';
import { TfOps } from '../src/backend/tf-ops.ts';

const { values } = parseArgs({
  options: {
    threads: { type: 'string', default: '1' },
    reps: { type: 'string', default: '30' },
    sizes: { type: 'string', default: '4x64x5,4x64x16,16x64x16,4x128x16,8x128x16,4x256x16,16x256x32' },
  },
});
await initBackend('tensorflow', { quiet: true, threads: Number(values.threads) });
const problem = sliceseqOpsProblem();
if (problem) throw new Error(`bench/gru-op.ts: sliceseq's ops are ${problem}`);
const reps = Number(values.reps);
// The kernels' TF-ops path; the ops column runs the ops by name.
setSliceseqOps(false);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Wall ms of the forward and of the backward pass, one run each: sliceseq's ops, or the kernels' TF-ops path. */
function time(batch: number, hidden: number, steps: number, ops: boolean): [number, number] {
  return tf.tidy(() => {
    const attrs = { reverse: false, real: null } satisfies GruAttrs as unknown as tf.NamedAttrMap;
    const x = tf.randomNormal([steps, batch, 3 * hidden], 0, 1, 'float32', 1);
    const h0 = tf.zeros([batch, hidden]);
    const u = tf.randomNormal([hidden, 3 * hidden], 0, 0.1, 'float32', 2);
    const b = tf.zeros([3 * hidden]);
    const dStates = tf.randomNormal([steps, batch, hidden], 0, 1, 'float32', 3);
    const dFinal = tf.zeros([batch, hidden]);
    const mask = tf.ones([steps, batch]);
    for (const t of [x, u, dStates, mask]) t.dataSync();
    const o = TfOps.of(tf.backend());
    const reverse = [o.bool('reverse', false)];
    const start = performance.now();
    const forward = ops
      ? o.many(GRU_SEQUENCE, [x, h0, u, b, mask], 6, reverse)
      : (tf.engine().runKernel(GRU_SEQUENCE, { x, h0, u, b }, attrs) as tf.Tensor[]);
    forward[0].dataSync();
    const middle = performance.now();
    const [states, , r, z, n, gn] = forward;
    const grads = ops
      ? o.many(GRU_SEQUENCE_GRAD, [x, h0, u, mask, states, r, z, n, gn, dStates, dFinal], 4, reverse)
      : (tf.engine().runKernel(GRU_SEQUENCE_GRAD, { x, h0, u, states, r, z, n, gn, dStates, dFinal }, attrs) as tf.Tensor[]);
    grads[0].dataSync();
    return [middle - start, performance.now() - middle];
  });
}

console.log(`threads ${values.threads}, ${reps} reps, median wall ms (forward / backward); load average ${(await import('node:os')).loadavg().map((v) => v.toFixed(2)).join(' ')}`);
console.log('B×H×T        ops fwd  ops bwd  TF fwd  TF bwd   ops/TF (fwd+bwd)');
for (const size of values.sizes.split(',')) {
  const [batch, hidden, steps] = size.split('x').map(Number);
  for (let i = 0; i < 3; i++) (time(batch, hidden, steps, true), time(batch, hidden, steps, false));
  const samples = { ops: [[], []] as number[][], tf: [[], []] as number[][] };
  for (let i = 0; i < reps; i++) {
    for (const [key, on] of [['ops', true], ['tf', false]] as const) {
      const [f, b] = time(batch, hidden, steps, on);
      samples[key][0].push(f);
      samples[key][1].push(b);
    }
  }
  const [of, ob, tf_, tb] = [...samples.ops, ...samples.tf].map(median);
  console.log(`${size.padEnd(12)} ${of.toFixed(3).padStart(7)} ${ob.toFixed(3).padStart(8)} ${tf_.toFixed(3).padStart(7)} ${tb.toFixed(3).padStart(7)}   ${((of + ob) / (tf_ + tb)).toFixed(2)}`);
}
