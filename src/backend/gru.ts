import * as tf from '@tensorflow/tfjs';
import { sliceseqOpReady } from './sliceseq-ops.ts';
import { TfOps, registerGradientOnce, registerTensorflowKernel } from './tf-ops.ts';

/**
 * A whole GRU sequence as one kernel on the native backend, forward and backward written out over TensorFlow ops
 * sent straight to the binding (TF's own GRUBlockCell applies the reset gate before the recurrent product, a
 * different GRU). Per step, in processing order (`reverse`: last step first), from the projected inputs
 * x_t = x·W + b_in [B, 3H] (gate columns r z n; a batch of 1 broadcasts) and g = h·U + b [B, 3H]:
 *   r = σ(x_r + g_r), z = σ(x_z + g_z), n = tanh(x_n + r·g_n), h' = n + z·(h − n),
 * and with a mask, h_t = m ? h' : h (`SelectV2`; m = 1 real, 0 padded: padded rows keep their state; the per-step
 * twin's h + m·(h' − h) is the same up to one rounding). The mask is read on
 * the host once: a step where every row is real runs no mask ops; a step with no real row is skipped.
 *
 * Inputs {x [T, Bx, 3H], h0 [B, H], u [H, 3H], b [3H]}, attrs {reverse, real: T·B flags (step-major) or null}.
 * Outputs [states [T, B, H] (h_t, by step index), final [B, H], r, z, n, gn [T, B, H] (for the backward pass)].
 * The wasm and cpu twins are the per-step cell ops of src/models/layers/recurrent-cells.ts.
 *
 * Where sliceseq's TensorFlow ops are loaded (native/tf-ops/gru.cc, ops of the same names), each kernel is one op:
 * the whole sequence, or the whole backward pass, in C++ (the mask goes in as a [T, B] tensor of 1/0). The TF-ops
 * code below is its twin (and the GPU package's path).
 */
export const GRU_SEQUENCE = 'SliceseqGRU';
export const GRU_SEQUENCE_GRAD = 'SliceseqGRUGrad';

export interface GruAttrs {
  reverse: boolean;
  /** 1 real / 0 padded per step and row (index t·B + b); null: every step real. */
  real: number[] | null;
}

/** The float32 ops the GRU needs, by TensorFlow op name. */
class GruOps {
  constructor(readonly ops: TfOps) {}
  add = (a: tf.Tensor, b: tf.Tensor) => this.ops.one('AddV2', [a, b]);
  sub = (a: tf.Tensor, b: tf.Tensor) => this.ops.one('Sub', [a, b]);
  mul = (a: tf.Tensor, b: tf.Tensor) => this.ops.one('Mul', [a, b]);
  oneMinus = (a: tf.Tensor) => this.ops.one('Sub', [this.ops.constant(1), a]);
  sigmoid = (a: tf.Tensor) => this.ops.one('Sigmoid', [a]);
  tanh = (a: tf.Tensor) => this.ops.one('Tanh', [a]);
  square = (a: tf.Tensor) => this.ops.one('Square', [a]);
  identity = (a: tf.Tensor) => this.ops.one('Identity', [a]);
  select = (condition: tf.Tensor, a: tf.Tensor, b: tf.Tensor) => this.ops.one('SelectV2', [condition, a, b]);
  matMul = (a: tf.Tensor, b: tf.Tensor, transposeA = false, transposeB = false) =>
    this.ops.one('MatMul', [a, b], [this.ops.T, this.ops.bool('transpose_a', transposeA), this.ops.bool('transpose_b', transposeB)]);
  splitV = (x: tf.Tensor, sizes: number[], axis: number) =>
    this.ops.many('SplitV', [x, this.ops.constant(sizes, 'int32'), this.ops.constant(axis, 'int32')], sizes.length, [this.ops.int('num_split', sizes.length), this.ops.T, this.ops.type('Tlen', 'int32')]);
  concat = (xs: tf.Tensor[], axis: number) =>
    xs.length === 1 ? this.identity(xs[0]) : this.ops.one('ConcatV2', [...xs, this.ops.constant(axis, 'int32')], [this.ops.int('N', xs.length), this.ops.T, this.ops.type('Tidx', 'int32')]);
  pack = (xs: tf.Tensor[], axis: number) => this.ops.one('Pack', xs, [this.ops.int('N', xs.length), this.ops.T, this.ops.int('axis', axis)]);
  unpack = (x: tf.Tensor, axis: number) => this.ops.many('Unpack', [x], x.shape[axis], [this.ops.int('num', x.shape[axis]), this.ops.T, this.ops.int('axis', axis)]);
  sum = (x: tf.Tensor, axis: number, keepDims: boolean) =>
    this.ops.one('Sum', [x, this.ops.constant(axis, 'int32')], [this.ops.bool('keep_dims', keepDims), this.ops.T, this.ops.type('Tidx', 'int32')]);
}

/** Per step: 'all' rows real, 'none', or the mask column [B, 1] (as 0/1, and as bools for `SelectV2`). */
type StepMask = 'all' | 'none' | { m: tf.Tensor; isReal: tf.Tensor };

function stepMasks(real: number[] | null, steps: number, batch: number): StepMask[] {
  return Array.from({ length: steps }, (_, t): StepMask => {
    if (!real) return 'all';
    const column = real.slice(t * batch, (t + 1) * batch);
    const count = column.reduce((a, b) => a + b, 0);
    if (count === batch) return 'all';
    if (count === 0) return 'none';
    // tfjs-node uploads a tensor when an op first takes it: the kernel that uses none of these pays for none.
    return { m: tf.tensor2d(column, [batch, 1]), isReal: tf.tensor2d(column.map((v) => v === 1), [batch, 1], 'bool') };
  });
}

/**
 * The ops run when one step's recurrent product, B·H·3H multiply-adds, is at most 2²² (B 16, H 256 and below):
 * there the dispatch they save (a dozen TF ops a step, 10–17 µs each) outweighs what TF's MatMul gains on the
 * products (AVX2 with FMA, and both threads at 2). Above it the two are even or TF's ops win: B 24, H 256 (4.7M)
 * 0.98× at 2 threads, B 32, H 256 (6.3M) 1.01–1.23× (bench/gru-op.ts; docs/fused-kernels.md).
 */
export const GRU_OP_MAX_PRODUCT = 2 ** 22;

const opFits = (batch: number, hidden: number) => batch * hidden * 3 * hidden <= GRU_OP_MAX_PRODUCT;

/** The mask as the ops take it: [T, B], 1 real and 0 padded (every step real when `real` is null). */
const maskTensor = (real: number[] | null, steps: number, batch: number) =>
  tf.tensor2d(real ?? new Float32Array(steps * batch).fill(1), [steps, batch]);

/** Processing order of the steps. */
const order = (steps: number, reverse: boolean) => Array.from({ length: steps }, (_, k) => (reverse ? steps - 1 - k : k));

const gruKernel: tf.KernelFunc = ({ inputs, backend, attrs }) =>
  tf.tidy(() => {
    const o = new GruOps(TfOps.of(backend));
    const { x, h0, u, b } = inputs as Record<string, tf.Tensor>;
    const { reverse, real } = attrs as unknown as GruAttrs;
    const [steps] = x.shape;
    const [batch, hidden] = h0.shape;
    if (sliceseqOpReady(GRU_SEQUENCE) && opFits(batch, hidden)) {
      return o.ops.many(GRU_SEQUENCE, [x, h0, u, b, maskTensor(real, steps, batch)], 6, [o.ops.bool('reverse', reverse)]);
    }
    const masks = stepMasks(real, steps, batch);
    const [xrz, xn] = o.splitV(x, [2 * hidden, hidden], 2).map((part) => o.unpack(part, 0));
    const zeros = tf.zeros([batch, hidden]);
    const states: tf.Tensor[] = new Array(steps);
    const saved = { r: new Array<tf.Tensor>(steps), z: new Array<tf.Tensor>(steps), n: new Array<tf.Tensor>(steps), gn: new Array<tf.Tensor>(steps) };
    let h = h0;
    for (const t of order(steps, reverse)) {
      const mask = masks[t];
      if (mask === 'none') {
        states[t] = h;
        saved.r[t] = saved.z[t] = saved.n[t] = saved.gn[t] = zeros;
        continue;
      }
      const [grz, gn] = o.splitV(o.add(o.matMul(h, u), b), [2 * hidden, hidden], 1);
      const [r, z] = o.splitV(o.sigmoid(o.add(xrz[t], grz)), [hidden, hidden], 1);
      const n = o.tanh(o.add(xn[t], o.mul(r, gn)));
      const next = o.add(n, o.mul(z, o.sub(h, n)));
      h = mask === 'all' ? next : o.select(mask.isReal, next, h);
      states[t] = h;
      saved.r[t] = r;
      saved.z[t] = z;
      saved.n[t] = n;
      saved.gn[t] = gn;
    }
    return [o.pack(states, 0), o.identity(h), o.pack(saved.r, 0), o.pack(saved.z, 0), o.pack(saved.n, 0), o.pack(saved.gn, 0)];
  });

/**
 * Inputs: the forward's inputs and outputs, dStates, dFinal → [dx, dh0, du, db]. With dNext the gradient reaching a
 * step's new state (masked), the gate gradients are dNext times factors that do not depend on the recurrence:
 *   dGate = dNext·[Cr | Bz | Cn·r], dx_t = dNext·[Cr | Bz | Cn], with Cn = (1 − z)(1 − n²), Bz = (h − n)·z(1 − z),
 *   Cr = Cn·gn·r(1 − r),
 * so they are computed once over all steps, and each step runs only dh's recurrence:
 *   dh ← dNext·z + dGate·Uᵀ (padded rows: dh passed straight through, one `SelectV2`).
 */
const gruGradKernel: tf.KernelFunc = ({ inputs, backend, attrs }) =>
  tf.tidy(() => {
    const o = new GruOps(TfOps.of(backend));
    const { x, h0, u, states, r, z, n, gn, dStates, dFinal } = inputs as Record<string, tf.Tensor>;
    const { reverse, real } = attrs as unknown as GruAttrs;
    const [steps, inputBatch] = x.shape;
    const [batch, hidden] = h0.shape;
    if (sliceseqOpReady(GRU_SEQUENCE_GRAD) && opFits(batch, hidden)) {
      const mask = maskTensor(real, steps, batch);
      return o.ops.many(GRU_SEQUENCE_GRAD, [x, h0, u, mask, states, r, z, n, gn, dStates, dFinal], 4, [o.ops.bool('reverse', reverse)]);
    }
    const masks = stepMasks(real, steps, batch);
    const [S, Z, dS] = [states, z, dStates].map((t) => o.unpack(t, 0));
    const hPrev = (t: number) => {
      const before = reverse ? t + 1 : t - 1;
      return before >= 0 && before < steps ? S[before] : h0;
    };
    // The factors of every step at once, [T, B, 3H].
    const oneMinusZ = o.oneMinus(z);
    const cn = o.mul(oneMinusZ, o.oneMinus(o.square(n)));
    const bz = o.mul(o.sub(o.pack(S.map((_, t) => hPrev(t)), 0), n), o.mul(z, oneMinusZ));
    const cr = o.mul(o.mul(cn, gn), o.mul(r, o.oneMinus(r)));
    const gateFactors = o.unpack(o.concat([cr, bz, o.mul(cn, r)], 2), 0);
    const dNexts: tf.Tensor[] = new Array(steps);
    const dGates: tf.Tensor[] = [];
    const previous: tf.Tensor[] = [];
    let dh = dFinal;
    // Last processed step first.
    for (const t of order(steps, !reverse)) {
      dh = o.add(dh, dS[t]);
      const mask = masks[t];
      if (mask === 'none') {
        dNexts[t] = tf.zeros([batch, hidden]);
        continue;
      }
      const dNext = mask === 'all' ? dh : o.mul(mask.m, dh);
      const dGate = o.mul(o.concat([dNext, dNext, dNext], 1), gateFactors[t]);
      dNexts[t] = dNext;
      dGates.push(dGate);
      previous.push(hPrev(t));
      // Padded rows pass their state's gradient straight through to the step before (their dNext, so this
      // step's terms, are 0).
      const throughStep = o.add(o.mul(dNext, Z[t]), o.matMul(dGate, u, false, true));
      dh = mask === 'all' ? throughStep : o.select(mask.isReal, throughStep, dh);
    }
    const dNext = o.pack(dNexts, 0);
    const dxAll = o.mul(o.concat([dNext, dNext, dNext], 2), o.concat([cr, bz, cn], 2));
    const dx = inputBatch === 1 && batch > 1 ? o.sum(dxAll, 1, true) : dxAll;
    // The recurrent kernel and bias gradients of all steps in one product and one sum.
    const rows = dGates.length > 0 ? o.concat(dGates, 0) : null;
    const du = rows ? o.matMul(o.concat(previous, 0), rows, true, false) : tf.zeros(u.shape);
    const db = rows ? o.sum(rows, 0, false) : tf.zeros([3 * hidden]);
    return [dx, dh, du, db];
  });

export function registerGruKernels(): void {
  registerTensorflowKernel(GRU_SEQUENCE, gruKernel);
  registerTensorflowKernel(GRU_SEQUENCE_GRAD, gruGradKernel);
  registerGradientOnce({
    kernelName: GRU_SEQUENCE,
    inputsToSave: ['x', 'h0', 'u'],
    outputsToSave: [true, false, true, true, true, true],
    gradFunc: (dy, saved, attrs) => {
      const [x, h0, u, states, r, z, n, gn] = saved;
      const [dStates, dFinal] = dy as tf.Tensor[];
      const grads = tf.engine().runKernel(GRU_SEQUENCE_GRAD, { x, h0, u, states, r, z, n, gn, dStates, dFinal }, attrs) as tf.Tensor[];
      const [dx, dh0, du, db] = grads;
      return { x: () => dx, h0: () => dh0, u: () => du, b: () => db };
    },
  });
}

/**
 * A GRU over projected inputs x [T, Bx, 3H] (Bx = B, or 1 to broadcast) from h0 [B, H] with recurrent kernel u
 * [H, 3H] and recurrent bias b [3H]: the state after each step [T, B, H] (by step index) and the final state.
 * Native backend only.
 */
export function gruSequence(x: tf.Tensor, h0: tf.Tensor, u: tf.Tensor, b: tf.Tensor, attrs: GruAttrs): { states: tf.Tensor3D; final: tf.Tensor2D } {
  const outputs = tf.engine().runKernel(GRU_SEQUENCE, { x, h0, u, b }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
  tf.dispose(outputs.slice(2));
  return { states: outputs[0] as tf.Tensor3D, final: outputs[1] as tf.Tensor2D };
}
