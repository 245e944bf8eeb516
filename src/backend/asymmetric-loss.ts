import * as tf from '@tensorflow/tfjs';
import { TfOps, registerGradientOnce, registerTensorflowKernel } from './tf-ops.ts';

/**
 * The asymmetric loss's per-element values and their derivatives as one kernel on the native backend (about 45
 * TensorFlow ops, where the per-op path runs about 100 tfjs kernels, their tape entries and saved-tensor clones).
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
 * Inputs {logits, targets} (float32, one shape); attrs AslKernelAttrs. Outputs [elements, dElements/dLogits,
 * dElements/dTargets]. The wasm and cpu twin is the per-op aslElements.
 */
export const ASL_ELEMENTS = 'SliceseqAslElements';

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

const aslKernel: tf.KernelFunc = ({ inputs, backend, attrs }) =>
  tf.tidy(() => {
    const o = new AslOps(TfOps.of(backend));
    const { logits: x, targets: y } = inputs as { logits: tf.Tensor; targets: tf.Tensor };
    const { gammaNeg, gammaPos, clip, eps, stopGradientFocusing } = attrs as unknown as AslKernelAttrs;
    const logFloor = eps > 0 ? Math.log(eps) : null;
    const floored = (logSig: tf.Tensor) => (logFloor === null ? logSig : o.binary('Maximum', logSig, logFloor));
    /** The floor's gradient mask applied to `value`: where the floor did not bind. */
    const unfloored = (logSig: tf.Tensor, value: tf.Tensor) => (logFloor === null ? value : o.select(o.binary('GreaterEqual', logSig, logFloor), value, 0));

    const negX = o.unary('Neg', x);
    const logSigP = o.unary('Neg', o.unary('Softplus', negX));
    const logP = floored(logSigP);
    const q = o.unary('Sigmoid', negX);
    let logPNeg: tf.Tensor;
    let dLogPNeg: tf.Tensor;
    const p = o.unary('Sigmoid', x);
    const pq = o.binary('Mul', p, q);
    if (clip > 0) {
      const shifted = o.binary('AddV2', q, clip);
      const capped = o.binary('Minimum', shifted, 1);
      const floorArg = o.binary('Maximum', capped, eps);
      logPNeg = o.unary('Log', floorArg);
      const passes = o.ops.one('LogicalAnd', [o.binary('LessEqual', shifted, 1), o.binary('GreaterEqual', capped, eps)], []);
      dLogPNeg = o.unary('Neg', o.select(passes, o.binary('RealDiv', pq, floorArg), 0));
    } else {
      const logSigN = o.unary('Neg', o.unary('Softplus', x));
      logPNeg = floored(logSigN);
      dLogPNeg = o.unary('Neg', unfloored(logSigN, p));
    }
    const differentiateFocusing = !stopGradientFocusing;
    const pos = o.focusing(q, gammaPos, differentiateFocusing);
    const rectified = o.unary('Relu', o.binary('Sub', p, clip));
    const neg = o.focusing(rectified, gammaNeg, differentiateFocusing);

    const weighted = (value: tf.Tensor, weight: tf.Tensor | null) => (weight ? o.binary('Mul', value, weight) : value);
    const positive = weighted(o.binary('Mul', y, logP), pos.weight);
    const oneMinusY = o.binary('Sub', 1, y);
    const negative = weighted(o.binary('Mul', oneMinusY, logPNeg), neg.weight);
    const elements = o.unary('Neg', o.binary('AddV2', positive, negative));

    // d(branch)/dx: log'·w + log·w'·(dbase/dx), dbase/dx = −p·q for q, [p − clip > 0]·p·q for relu(p − clip).
    const branch = (dLog: tf.Tensor, weight: tf.Tensor | null, log: tf.Tensor, slope: tf.Tensor | number | null, dBase: tf.Tensor) => {
      const direct = weighted(dLog, weight);
      if (slope === null) return direct;
      const viaWeight = o.binary('Mul', log, slope === 1 ? dBase : o.binary('Mul', slope as tf.Tensor | number, dBase));
      return o.binary('AddV2', direct, viaWeight);
    };
    const dPos = branch(unfloored(logSigP, q), pos.weight, logP, pos.slope, o.unary('Neg', pq));
    const dRectified = neg.slope === null ? pq : o.select(o.binary('Greater', rectified, 0), pq, 0);
    const dNeg = branch(dLogPNeg, neg.weight, logPNeg, neg.slope, dRectified);
    // 0 − sum rather than −sum: a zero gradient is +0, as on the per-op path.
    const dLogits = o.binary('Sub', 0, o.binary('AddV2', o.binary('Mul', y, dPos), o.binary('Mul', oneMinusY, dNeg)));
    const dTargets = o.binary('Sub', weighted(logPNeg, neg.weight), weighted(logP, pos.weight));
    return [elements, dLogits, dTargets];
  });

export function registerAslKernel(): void {
  registerTensorflowKernel(ASL_ELEMENTS, aslKernel);
  registerGradientOnce({
    kernelName: ASL_ELEMENTS,
    outputsToSave: [false, true, true],
    gradFunc: (dy, saved) => {
      const [dLogits, dTargets] = saved;
      // Only the elements take gradients (the derivative outputs are for this function).
      const [dElements] = dy as tf.Tensor[];
      return { logits: () => tf.mul(dElements, dLogits), targets: () => tf.mul(dElements, dTargets) };
    },
  });
}

/** The ASL's per-element losses through the fused kernel (native backend only; see aslElements for the rest). */
export function fusedAslElements(logits: tf.Tensor, targets: tf.Tensor, attrs: AslKernelAttrs): tf.Tensor {
  const [elements, ...derivatives] = tf.engine().runKernel(ASL_ELEMENTS, { logits, targets }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
  tf.dispose(derivatives);
  return elements;
}
