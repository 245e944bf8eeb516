import * as tf from '@tensorflow/tfjs';
import { sliceseqOpReady } from './sliceseq-ops.ts';
import { type OpAttr, TfOps, registerGradientOnce, registerTensorflowKernel } from './tf-ops.ts';

/**
 * The asymmetric loss's per-element values and their derivatives as one kernel on the native backend (one op of
 * ours, or about 45 TensorFlow ops, where the per-op path runs about 100 tfjs kernels, their tape entries and
 * saved-tensor clones).
 *
 * Forward, the same TF ops in the same order as the per-op path (src/losses/asl.ts), so the elements are the same
 * bits: with p = σ(x), q = σ(−x), L = log(eps),
 *   logP = max(−softplus(−x), L), logPNeg = log(max(min(q + clip, 1), eps)) (clip 0: max(−softplus(x), L)),
 *   fp = w(q, γ+), fn = w(relu(p − clip), γ−), E = −((y·logP)·fp + ((1 − y)·logPNeg)·fn),
 * with w(b, γ) = b^γ where b > 1e-30, else 0 (γ 0: 1; γ 1: b). The derivatives are the per-op path's chain rule
 * written out (maximum/minimum pass the gradient where the first argument is ≥ / ≤ the second, relu where its
 * input is > 0, σ' = p·q):
 *   dE/dx = −(y·(logP'·fp + logP·fp') + (1 − y)·(logPNeg'·fn + logPNeg·fn')),  dE/dy = logPNeg·fn − logP·fp,
 * where logP' = q·[−softplus(−x) ≥ L], logPNeg' = −p·q/v·[q + clip ≤ 1]·[min(…) ≥ eps] (v the max; clip 0:
 * −p·[−softplus(x) ≥ L]), fp' = −w'(q)·p·q, fn' = w'(r)·[p − clip > 0]·p·q, w'(b) = γ·b^(γ−1) where b > 1e-30
 * (0 with `stopGradientFocusing`). They agree with the per-op gradients within float32 rounding of the order of
 * the products.
 *
 * Inputs {logits, targets} (float32, one shape); attrs AslKernelAttrs and `derivative`. Outputs [elements] and,
 * with `derivative` (set while a tape records), dElements/dLogits. dElements/dTargets is a kernel of its own
 * (ASL_TARGETS_DERIVATIVE, from the logits alone), which the gradient runs only when the targets' gradient is
 * asked for. On the CPU package each kernel is one op of ours where loaded (SliceseqAsl, SliceseqAslTargetsGrad:
 * native/tf-ops/asymmetric_loss.cc, the same formulas in the same order with libm's exp/log/pow, within 1e-6 of
 * the largest magnitude of these TF ops, its twin). The wasm and cpu twin is the per-op aslElements.
 */
export const ASL_ELEMENTS = 'SliceseqAslElements';
/** dElements/dTargets from the logits: run by the gradient only when the targets' gradient is asked for. */
export const ASL_TARGETS_DERIVATIVE = 'SliceseqAslTargetsDerivative';
/** Our TensorFlow ops (native/tf-ops/asymmetric_loss.cc) that do each kernel's work in one op where loaded. */
const ASL_OP = 'SliceseqAsl';
const ASL_TARGETS_OP = 'SliceseqAslTargetsGrad';

export interface AslKernelAttrs {
  gammaNeg: number;
  gammaPos: number;
  clip: number;
  eps: number;
  stopGradientFocusing: boolean;
}

/** Bases at or below this count as 0 in the focusing weight (as sigmoid-terms.ts's focusingWeight). */
const NEGLIGIBLE_BASE = 1e-30;

class AslOps {
  constructor(readonly ops: TfOps) {}
  unary = (op: string, a: tf.Tensor) => this.ops.one(op, [a]);
  binary = (op: string, a: tf.Tensor | number, b: tf.Tensor | number) => this.ops.one(op, [this.tensor(a), this.tensor(b)]);
  select = (condition: tf.Tensor, a: tf.Tensor, b: tf.Tensor | number) => this.ops.one('SelectV2', [condition, a, this.tensor(b)]);
  private tensor = (value: tf.Tensor | number) => (typeof value === 'number' ? this.ops.constant(value) : value);

  /** The focusing weight w(base, γ) and, unless `derivative` is false, w'(base) (null where w is constant). */
  focusing(base: tf.Tensor, gamma: number, derivative: boolean): { weight: tf.Tensor | null; slope: tf.Tensor | number | null } {
    if (gamma === 0) return { weight: null, slope: null };
    if (gamma === 1) return { weight: base, slope: derivative ? 1 : null };
    // step(base − 1e-30) as the per-op path computes it (Sign∘Relu), then pow(base + 1 − significant, γ)·significant.
    const significant = this.unary('Sign', this.unary('Relu', this.binary('Sub', base, NEGLIGIBLE_BASE)));
    const safeBase = this.binary('AddV2', base, this.binary('Sub', 1, significant));
    const weight = this.binary('Mul', this.binary('Pow', safeBase, gamma), significant);
    const slope = derivative ? this.binary('Mul', this.binary('Mul', this.binary('Pow', safeBase, gamma - 1), gamma), significant) : null;
    return { weight, slope };
  }
}

/** The pieces both derivatives share: the floored logs, the focusing weights and (with `derivative`) more. */
function aslTerms(o: AslOps, x: tf.Tensor, attrs: AslKernelAttrs, derivative: boolean) {
  const { gammaNeg, gammaPos, clip, eps, stopGradientFocusing } = attrs;
  const logFloor = eps > 0 ? Math.log(eps) : null;
  const floored = (logSig: tf.Tensor) => (logFloor === null ? logSig : o.binary('Maximum', logSig, logFloor));
  /** The floor's gradient mask applied to `value`: where the floor did not bind. */
  const unfloored = (logSig: tf.Tensor, value: tf.Tensor) => (logFloor === null ? value : o.select(o.binary('GreaterEqual', logSig, logFloor), value, 0));

  const negX = o.unary('Neg', x);
  const logSigP = o.unary('Neg', o.unary('Softplus', negX));
  const logP = floored(logSigP);
  const q = o.unary('Sigmoid', negX);
  const p = o.unary('Sigmoid', x);
  const pq = derivative ? o.binary('Mul', p, q) : null;
  let logPNeg: tf.Tensor;
  let dLogPNeg: tf.Tensor | null = null;
  if (clip > 0) {
    const shifted = o.binary('AddV2', q, clip);
    const capped = o.binary('Minimum', shifted, 1);
    const floorArg = o.binary('Maximum', capped, eps);
    logPNeg = o.unary('Log', floorArg);
    if (pq) {
      const passes = o.ops.one('LogicalAnd', [o.binary('LessEqual', shifted, 1), o.binary('GreaterEqual', capped, eps)], []);
      dLogPNeg = o.unary('Neg', o.select(passes, o.binary('RealDiv', pq, floorArg), 0));
    }
  } else {
    const logSigN = o.unary('Neg', o.unary('Softplus', x));
    logPNeg = floored(logSigN);
    if (pq) dLogPNeg = o.unary('Neg', unfloored(logSigN, p));
  }
  const differentiateFocusing = derivative && !stopGradientFocusing;
  const pos = o.focusing(q, gammaPos, differentiateFocusing);
  const rectified = o.unary('Relu', o.binary('Sub', p, clip));
  const neg = o.focusing(rectified, gammaNeg, differentiateFocusing);
  // The derivative's own pieces, with `derivative` only.
  const slopes = pq && dLogPNeg ? { pq, dLogPNeg, dLogP: unfloored(logSigP, q), rectified } : null;
  return { logP, logPNeg, pos, neg, slopes };
}

const weighted = (o: AslOps, value: tf.Tensor, weight: tf.Tensor | null) => (weight ? o.binary('Mul', value, weight) : value);

/** The TF-ops path: [elements] and, with `derivative`, dElements/dLogits. */
function aslByTfOps(o: AslOps, x: tf.Tensor, y: tf.Tensor, attrs: AslKernelAttrs, derivative: boolean): tf.Tensor[] {
  const { logP, logPNeg, pos, neg, slopes } = aslTerms(o, x, attrs, derivative);
  const positive = weighted(o, o.binary('Mul', y, logP), pos.weight);
  const oneMinusY = o.binary('Sub', 1, y);
  const negative = weighted(o, o.binary('Mul', oneMinusY, logPNeg), neg.weight);
  const elements = o.unary('Neg', o.binary('AddV2', positive, negative));
  if (!slopes) return [elements];

  // d(branch)/dx: log'·w + log·w'·(dbase/dx), dbase/dx = −p·q for q, [p − clip > 0]·p·q for relu(p − clip).
  const { pq, dLogPNeg, dLogP, rectified } = slopes;
  const branch = (dLog: tf.Tensor, weight: tf.Tensor | null, log: tf.Tensor, slope: tf.Tensor | number | null, dBase: tf.Tensor) => {
    const direct = weighted(o, dLog, weight);
    if (slope === null) return direct;
    const viaWeight = o.binary('Mul', log, slope === 1 ? dBase : o.binary('Mul', slope as tf.Tensor | number, dBase));
    return o.binary('AddV2', direct, viaWeight);
  };
  const dPos = branch(dLogP, pos.weight, logP, pos.slope, o.unary('Neg', pq));
  const dRectified = neg.slope === null ? pq : o.select(o.binary('Greater', rectified, 0), pq, 0);
  const dNeg = branch(dLogPNeg, neg.weight, logPNeg, neg.slope, dRectified);
  // 0 − sum rather than −sum: a zero gradient is +0, as on the per-op path.
  const dLogits = o.binary('Sub', 0, o.binary('AddV2', o.binary('Mul', y, dPos), o.binary('Mul', oneMinusY, dNeg)));
  return [elements, dLogits];
}

/** Our ops' attrs (float32 on the way in, as the TF-ops path's constants). */
function nativeAttrs(ops: TfOps, attrs: AslKernelAttrs): OpAttr[] {
  return [
    ops.float('gamma_neg', attrs.gammaNeg),
    ops.float('gamma_pos', attrs.gammaPos),
    ops.float('clip', attrs.clip),
    ops.float('eps', attrs.eps),
    ops.float('log_eps', attrs.eps > 0 ? Math.log(attrs.eps) : 0),
  ];
}

const aslKernel: tf.KernelFunc = ({ inputs, backend, attrs }) =>
  tf.tidy(() => {
    const ops = TfOps.of(backend);
    const { logits: x, targets: y } = inputs as { logits: tf.Tensor; targets: tf.Tensor };
    const options = attrs as unknown as AslKernelAttrs & { derivative: boolean };
    if (sliceseqOpReady(ASL_OP)) {
      const flags = [ops.bool('stop_gradient_focusing', options.stopGradientFocusing), ops.bool('with_d_logits', options.derivative)];
      const [elements, dLogits] = ops.many(ASL_OP, [x, y], 2, [...nativeAttrs(ops, options), ...flags]);
      return options.derivative ? [elements, dLogits] : [elements];
    }
    return aslByTfOps(new AslOps(ops), x, y, options, options.derivative);
  });

/** dElements/dTargets = logPNeg·fn − logP·fp: the targets enter linearly, so the logits alone give it. */
const aslTargetsKernel: tf.KernelFunc = ({ inputs, backend, attrs }) =>
  tf.tidy(() => {
    const ops = TfOps.of(backend);
    const { logits: x } = inputs as { logits: tf.Tensor };
    const options = attrs as unknown as AslKernelAttrs;
    if (sliceseqOpReady(ASL_TARGETS_OP)) return ops.one(ASL_TARGETS_OP, [x], nativeAttrs(ops, options));
    const o = new AslOps(ops);
    const { logP, logPNeg, pos, neg } = aslTerms(o, x, options, false);
    return o.binary('Sub', weighted(o, logPNeg, neg.weight), weighted(o, logP, pos.weight));
  });

export function registerAslKernel(): void {
  registerTensorflowKernel(ASL_ELEMENTS, aslKernel);
  registerTensorflowKernel(ASL_TARGETS_DERIVATIVE, aslTargetsKernel);
  registerGradientOnce({
    kernelName: ASL_ELEMENTS,
    inputsToSave: ['logits'],
    outputsToSave: [false, true],
    gradFunc: (dy, saved, attrs) => {
      const [logits, dLogits] = saved;
      // Only the elements take gradients (the derivative output is for this function).
      const [dElements] = dy as tf.Tensor[];
      const dTargets = () => tf.engine().runKernel(ASL_TARGETS_DERIVATIVE, { logits }, attrs) as tf.Tensor;
      return { logits: () => tf.mul(dElements, dLogits), targets: () => tf.mul(dElements, dTargets()) };
    },
  });
}

/**
 * The ASL's per-element losses through the fused kernel (native backend only; see aslElements for the rest). The
 * derivative by the logits is computed only while a tape records (tfjs saves a kernel's outputs then only).
 */
export function fusedAslElements(logits: tf.Tensor, targets: tf.Tensor, attrs: AslKernelAttrs): tf.Tensor {
  const derivative = tf.engine().isTapeOn();
  const [elements, ...derivatives] = tf.engine().runKernel(ASL_ELEMENTS, { logits, targets }, { ...attrs, derivative } as unknown as tf.NamedAttrMap) as tf.Tensor[];
  tf.dispose(derivatives);
  return elements;
}
