/**
 * Milliseconds per TensorFlow op for the slice CNN's convolutions (conv + bias + ReLU, forward and backward) on the
 * native backend, for each way TensorFlow can run them, on the reference and short-series workloads' shapes (the
 * small-vgg backbone's three 3×3 'same' convolutions of 16/32/64 channels, slices folded into the batch). Which ops
 * exist is probed first (oneDNN's internal ops exist only in oneDNN builds). Prints a table; the choice it informed
 * is docs/fused-kernels.md's "convolution" paragraph.
 *
 *   npx tsx bench/conv-ops.ts [--threads 1] [--reps 10] [--wall] [--sweep]
 *
 * --wall times wall-clock ms per op instead (what a step waits for at 2 threads, where the caller hands work to the
 * pool and waits). The max-pool rows are the 2×2 pool after each convolution: TF's MaxPool/MaxPoolGrad and oneDNN's
 * pool with its workspace and the gradient that consumes it (mkl-max-pool.ts).
 *
 * --sweep instead compares oneDNN's three convolution ops with TF's over 180 small shapes (kernel 1/2/3/5, stride
 * 1–3, 'SAME'/'VALID', three sizes and channel counts, 4 runs each) and exits 1 on a difference above 1e-5 of the
 * largest magnitude; it skips 1×1 kernels with stride > 1, whose oneDNN filter gradient corrupts memory (conv.ts
 * keeps TF's ops for them).
 */
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { initBackend } from '../src/backend/select.ts';
import { TfOps, type OpAttr } from '../src/backend/tf-ops.ts';

const { values } = parseArgs({ options: { threads: { type: 'string', default: '1' }, reps: { type: 'string', default: '10' }, sweep: { type: 'boolean', default: false }, wall: { type: 'boolean', default: false } } });
await initBackend('tensorflow', { quiet: true, threads: Number(values.threads) });
const ops = TfOps.of(tf.backend());
const reps = Number(values.reps);

const ONEDNN = ops.string('_kernel', 'MklNameChangeOp');
if (values.sweep) process.exit(sweep());

/** oneDNN's convolution ops against TF's on small shapes; the number of shapes that differ. */
function sweep(): number {
  const attrs = (stride: number, padding: string, oneDnn: boolean) => [
    ops.T,
    ops.int('strides', [1, stride, stride, 1]),
    ops.string('padding', padding),
    ops.string('data_format', 'NHWC'),
    ...(oneDnn ? [ONEDNN] : []),
  ];
  const relative = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] / Math.max(1e-6, tf.max(tf.abs(b)).dataSync()[0]));
  let differing = 0;
  let total = 0;
  for (const k of [1, 2, 3, 5]) for (const stride of [1, 2, 3]) for (const padding of ['SAME', 'VALID']) for (const size of [7, 8, 16]) for (const [cin, cout] of [[3, 4], [4, 8], [16, 32]]) {
    if (k === 1 && stride > 1) continue;
    const shape = [2, size, size, cin];
    const filterShape = [k, k, cin, cout];
    const worst = tf.tidy(() => {
      const x = tf.randomNormal(shape, 0, 1, 'float32', 1);
      const filter = tf.randomNormal(filterShape, 0, 1, 'float32', 2);
      const y = ops.one('Conv2D', [x, filter], attrs(stride, padding, false));
      const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 3);
      const sizes = [tf.tensor1d(shape, 'int32'), tf.tensor1d(filterShape, 'int32')];
      const dFilter = ops.one('Conv2DBackpropFilter', [x, sizes[1], dy], attrs(stride, padding, false));
      const dx = ops.one('Conv2DBackpropInput', [sizes[0], filter, dy], attrs(stride, padding, false));
      let max = 0;
      for (let run = 0; run < 4; run++) {
        max = Math.max(
          max,
          relative(ops.one('_MklNativeConv2D', [x, filter], attrs(stride, padding, true)), y),
          relative(ops.one('_MklNativeConv2DBackpropFilter', [x, sizes[1], dy], attrs(stride, padding, true)), dFilter),
          relative(ops.one('_MklNativeConv2DBackpropInput', [sizes[0], filter, dy], attrs(stride, padding, true)), dx),
        );
      }
      return max;
    });
    total++;
    if (worst > 1e-5) {
      differing++;
      console.log(`differs: kernel ${k}, stride ${stride}, ${padding}, ${size}×${size}, ${cin}→${cout}: ${worst.toExponential(1)}`);
    }
  }
  console.log(`threads ${values.threads}: ${differing} of ${total} shapes differ`);
  return differing === 0 ? 0 : 1;
}
function convAttrs(extra: OpAttr[] = [], format: 'NHWC' | 'NCHW' = 'NHWC'): OpAttr[] {
  return [
    ops.T,
    ops.int('strides', [1, 1, 1, 1]),
    ops.string('padding', 'SAME'),
    ops.string('data_format', format),
    ops.int('dilations', [1, 1, 1, 1]),
    ...extra,
  ];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

/**
 * Median CPU ms (--wall: wall-clock ms) of `run` (every thread of the process; its outputs read back, so the op has finished, and disposed),
 * or why it fails. CPU time rather than wall time: on a shared machine it is the figure the load distorts least.
 */
function time(run: () => tf.Tensor | tf.Tensor[]): number | string {
  try {
    for (let i = 0; i < 2; i++) {
      const out = ([] as tf.Tensor[]).concat(run());
      out[0].dataSync();
      tf.dispose(out);
    }
    const ms: number[] = [];
    for (let i = 0; i < reps; i++) {
      const start = process.cpuUsage();
      const wallStart = performance.now();
      const out = ([] as tf.Tensor[]).concat(run());
      out[0].dataSync();
      const used = process.cpuUsage(start);
      ms.push(values.wall ? performance.now() - wallStart : (used.user + used.system) / 1000);
      tf.dispose(out);
    }
    return median(ms);
  } catch (error) {
    return `fails: ${String((error as Error).message).split('\n')[0].slice(0, 90)}`;
  }
}

const layers = [
  { name: 'ref conv1', x: [64, 64, 64, 3], filters: 16 },
  { name: 'ref conv2', x: [64, 32, 32, 16], filters: 32 },
  { name: 'ref conv3', x: [64, 16, 16, 32], filters: 64 },
  // The short-series batch's 14 real slices (2 + 3 + 4 + 5: folding runs the backbone on real slices only).
  { name: 'short conv1', x: [14, 32, 32, 3], filters: 16 },
  { name: 'short conv2', x: [14, 16, 16, 16], filters: 32 },
  { name: 'short conv3', x: [14, 8, 8, 32], filters: 64 },
];

const rows: Record<string, Record<string, number | string>> = {};
for (const layer of layers) {
  const [n, h, w, c] = layer.x;
  const k = layer.filters;
  const x = tf.randomNormal(layer.x, 0, 1, 'float32', 1);
  const xNchw = tf.transpose(x, [0, 3, 1, 2]);
  const filter = tf.randomNormal([3, 3, c, k], 0, 0.3, 'float32', 2);
  const bias = tf.randomNormal([k], 0, 0.1, 'float32', 3);
  const dy = tf.randomNormal([n, h, w, k], 0, 1, 'float32', 4);
  const pre = ops.one('Conv2D', [x, filter], convAttrs());
  const inputSizes = tf.tensor1d(layer.x, 'int32');
  const filterSizes = tf.tensor1d([3, 3, c, k], 'int32');
  const poolAttrs = (oneDnn: boolean) => [
    ops.T,
    ops.int('ksize', [1, 2, 2, 1]),
    ops.int('strides', [1, 2, 2, 1]),
    ops.string('padding', 'VALID'),
    ops.string('data_format', 'NHWC'),
    ...(oneDnn ? [ops.bool('workspace_enabled', true), ONEDNN] : []),
  ];
  const relu = ops.one('Relu', [pre]);
  const pooled = ops.one('MaxPool', [relu], poolAttrs(false));
  const poolDy = tf.randomNormal(pooled.shape, 0, 1, 'float32', 5);
  const workspace = ops.has('_MklNativeMaxPool', [relu], poolAttrs(true), 2) ? ops.many('_MklNativeMaxPool', [relu], 2, poolAttrs(true)) : [];
  const fusedOps = (list: string) => [ops.int('num_args', 1), ops.string('fused_ops', list)];
  const row: Record<string, number | string> = {
    'Conv2D': time(() => ops.one('Conv2D', [x, filter], convAttrs())),
    'Conv2D NCHW': time(() => ops.one('Conv2D', [xNchw, filter], [ops.T, ops.int('strides', [1, 1, 1, 1]), ops.string('padding', 'SAME'), ops.string('data_format', 'NCHW')])),
    'Add (bias)': time(() => ops.one('Add', [pre, bias])),
    'BiasAdd': time(() => ops.one('BiasAdd', [pre, bias], [ops.T, ops.string('data_format', 'NHWC')])),
    'Relu': time(() => ops.one('Relu', [pre])),
    '_MklNativeConv2D': time(() => ops.one('_MklNativeConv2D', [x, filter], convAttrs([ops.int('explicit_paddings', []), ONEDNN]))),
    '_MklNativeConv2D NCHW': time(() => ops.one('_MklNativeConv2D', [xNchw, filter], convAttrs([ops.int('explicit_paddings', []), ONEDNN], 'NCHW'))),
    '_MklNativeConv2DWithBias': time(() => ops.one('_MklNativeConv2DWithBias', [x, filter, bias], convAttrs([ops.int('explicit_paddings', []), ONEDNN]))),
    '_MklNativeFusedConv2D BiasAdd+Relu': time(() => ops.one('_MklNativeFusedConv2D', [x, filter, bias], convAttrs([...fusedOps('BiasAdd,Relu'), ops.int('explicit_paddings', []), ONEDNN]))),
    '_FusedConv2D BiasAdd+Relu': time(() => ops.one('_FusedConv2D', [x, filter, bias], convAttrs(fusedOps('BiasAdd,Relu')))),
    'ReluGrad': time(() => ops.one('ReluGrad', [dy, pre])),
    'Sum (bias grad)': time(() => ops.one('Sum', [dy, tf.tensor1d([0, 1, 2], 'int32')], [ops.T, ops.bool('keep_dims', false), ops.type('Tidx', 'int32')])),
    'BiasAddGrad': time(() => ops.one('BiasAddGrad', [dy], [ops.T, ops.string('data_format', 'NHWC')])),
    'Conv2DBackpropFilter': time(() => ops.one('Conv2DBackpropFilter', [x, filterSizes, dy], convAttrs())),
    '_MklNativeConv2DBackpropFilter': time(() => ops.one('_MklNativeConv2DBackpropFilter', [x, filterSizes, dy], convAttrs([ops.int('explicit_paddings', []), ONEDNN]))),
    '_MklNativeConv2DBackpropFilterWithBias': time(() => ops.many('_MklNativeConv2DBackpropFilterWithBias', [x, filterSizes, dy], 2, convAttrs([ONEDNN]))),
    'Conv2DBackpropInput': time(() => ops.one('Conv2DBackpropInput', [inputSizes, filter, dy], convAttrs())),
    '_MklNativeConv2DBackpropInput': time(() => ops.one('_MklNativeConv2DBackpropInput', [inputSizes, filter, dy], convAttrs([ops.int('explicit_paddings', []), ONEDNN]))),
    'MaxPool': time(() => ops.one('MaxPool', [relu], poolAttrs(false))),
    'MaxPoolGrad': time(() => ops.one('MaxPoolGrad', [relu, pooled, poolDy], poolAttrs(false))),
    '_MklNativeMaxPool (workspace)': time(() => ops.many('_MklNativeMaxPool', [relu], 2, poolAttrs(true))),
    '_MklNativeMaxPoolGrad': workspace.length ? time(() => ops.one('_MklNativeMaxPoolGrad', [relu, poolDy, poolDy, workspace[1]], poolAttrs(true))) : 'no oneDNN',
  };
  rows[layer.name] = row;
  tf.dispose([x, xNchw, filter, bias, dy, pre, inputSizes, filterSizes, relu, pooled, poolDy, ...workspace]);
}

const names = Object.keys(rows[layers[0].name]);
const format = (v: number | string) => (typeof v === 'number' ? v.toFixed(2) : v);
console.log(`threads ${values.threads}, ${values.wall ? 'wall-clock' : 'CPU'} ms per op (median of ${reps})`);
console.log(['op', ...layers.map((l) => l.name)].join(' | '));
for (const name of names) console.log([name, ...layers.map((l) => format(rows[l.name][name]))].join(' | '));
