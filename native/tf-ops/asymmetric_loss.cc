// The asymmetric loss's ops: its per-element values with their derivative by the logits in one pass, and its
// derivative by the targets (run only when a gradient by the targets is asked for). The formulas, and the order of
// float32 operations, are those of the TF-ops kernel in src/backend/asymmetric-loss.ts (its twin); only the
// transcendental functions differ: libm's expf/log1pf/logf/powf here, Eigen's vectorised versions in TensorFlow's
// ops, and σ as 1/(1 + e^−x) here against Eigen's rational approximation. The tests bound the difference.
#include <cmath>

#include "tf_op.h"

namespace sliceseq {
namespace {

struct AslAttrs {
  float gammaNeg, gammaPos, clip, eps, logEps;
  bool stopGradientFocusing = false;
  bool dLogits = false;
};

// Reads the float and bool attrs the op declares (the targets op declares neither bool: they stay false).
void *aslCreate(TF_OpKernelConstruction *construction, bool withBools) {
  Attrs read(construction);
  auto *attrs = new AslAttrs{read.real("gamma_neg"), read.real("gamma_pos"), read.real("clip"), read.real("eps"), read.real("log_eps")};
  if (withBools) {
    attrs->stopGradientFocusing = read.boolean("stop_gradient_focusing");
    attrs->dLogits = read.boolean("with_d_logits");
  }
  return attrs;
}

void *aslCreateWithBools(TF_OpKernelConstruction *construction) { return aslCreate(construction, true); }
void *aslCreateFloatsOnly(TF_OpKernelConstruction *construction) { return aslCreate(construction, false); }

// TensorFlow's Softplus for float: x above −threshold, eˣ below threshold, else log1p(eˣ); threshold = log(ε) + 2.
inline float softplus(float x) {
  static const float threshold = std::log(1.1920929e-07f) + 2.0f;
  if (x > -threshold) return x;
  const float e = std::exp(x);
  return x < threshold ? e : std::log1p(e);
}

inline float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// Bases at or below this count as 0 in the focusing weight (NEGLIGIBLE_BASE in asymmetric-loss.ts).
constexpr float kNegligibleBase = 1e-30f;

// The focusing weight w(b, γ) = b^γ where b > 1e-30, else 0, and its slope w'(b) = γ·b^(γ−1) there, as the
// TF-ops path computes them (sign∘relu for the mask, pow of b + (1 − mask), times the mask). γ 0 and 1 are the
// caller's (weight 1, and weight b with slope 1).
struct Focus {
  float weight, slope;
};
inline Focus focusing(float base, float gamma, bool slope) {
  const float shifted = base - kNegligibleBase;
  const float significant = shifted > 0.0f ? 1.0f : 0.0f;
  const float safeBase = base + (1.0f - significant);
  Focus f{std::pow(safeBase, gamma) * significant, 0.0f};
  if (slope) f.slope = (std::pow(safeBase, gamma - 1.0f) * gamma) * significant;
  return f;
}

// One element's log terms and focusing weights, and (with `derivative`) the pieces of dE/dx.
struct Terms {
  float logP, logPNeg;      // the floored log-probabilities of the positive and the negative branch
  float fp = 1, fn = 1;     // their focusing weights
  float dPos, dNeg;         // d(log term · weight)/dx of each branch
};

inline Terms terms(const AslAttrs &a, float x, bool derivative) {
  const bool floored = a.eps > 0.0f;
  Terms t{};
  const float negX = -x;
  const float logSigP = -softplus(negX);
  t.logP = floored ? std::fmax(logSigP, a.logEps) : logSigP;
  const float q = sigmoid(negX);
  const float p = sigmoid(x);
  const float pq = p * q;
  float dLogPNeg = 0;
  if (a.clip > 0.0f) {
    const float shifted = q + a.clip;
    const float capped = std::fmin(shifted, 1.0f);
    const float floorArg = std::fmax(capped, a.eps);
    t.logPNeg = std::log(floorArg);
    if (derivative) dLogPNeg = -((shifted <= 1.0f && capped >= a.eps) ? pq / floorArg : 0.0f);
  } else {
    const float logSigN = -softplus(x);
    t.logPNeg = floored ? std::fmax(logSigN, a.logEps) : logSigN;
    if (derivative) dLogPNeg = -((!floored || logSigN >= a.logEps) ? p : 0.0f);
  }
  const bool slopes = derivative && !a.stopGradientFocusing;
  const float rectified = std::fmax(p - a.clip, 0.0f);
  // Each branch: d/dx = log'·w + log·w'·(db/dx), db/dx = −p·q for b = q, [p − clip > 0]·p·q for b = relu(p − clip).
  const float dLogP = (!floored || logSigP >= a.logEps) ? q : 0.0f;
  if (a.gammaPos == 0.0f) {
    t.dPos = dLogP;
  } else if (a.gammaPos == 1.0f) {
    t.fp = q;
    t.dPos = slopes ? dLogP * q + t.logP * -pq : dLogP * q;
  } else {
    const Focus f = focusing(q, a.gammaPos, slopes);
    t.fp = f.weight;
    t.dPos = slopes ? dLogP * f.weight + t.logP * (f.slope * -pq) : dLogP * f.weight;
  }
  const float dRectified = rectified > 0.0f ? pq : 0.0f;
  if (a.gammaNeg == 0.0f) {
    t.dNeg = dLogPNeg;
  } else if (a.gammaNeg == 1.0f) {
    t.fn = rectified;
    t.dNeg = slopes ? dLogPNeg * rectified + t.logPNeg * dRectified : dLogPNeg * rectified;
  } else {
    const Focus f = focusing(rectified, a.gammaNeg, slopes);
    t.fn = f.weight;
    t.dNeg = slopes ? dLogPNeg * f.weight + t.logPNeg * (f.slope * dRectified) : dLogPNeg * f.weight;
  }
  return t;
}

// SliceseqAsl: inputs logits, targets (one shape); outputs elements and, with with_d_logits, dElements/dLogits (else an
// empty [0]). Per element, as the TF-ops path (weights 1 when γ is 0 are skipped there, so here too):
//   E = −((y·logP)·fp + ((1 − y)·logPNeg)·fn),  dE/dx = 0 − (y·dPos + (1 − y)·dNeg).
void aslCompute(void *kernel, TF_OpKernelContext *ctx) {
  const AslAttrs &a = *static_cast<const AslAttrs *>(kernel);
  Input logits(ctx, 0), targets(ctx, 1);
  if (!logits.ok() || !targets.ok()) return;
  if (logits.dims() != targets.dims()) return fail(ctx, "SliceseqAsl: logits and targets must have one shape");
  Output elements(ctx, 0, logits.dims()), dLogits(ctx, 1, a.dLogits ? logits.dims() : std::vector<int64_t>{0});
  if (!elements.ok() || !dLogits.ok()) return;
  const float *x = logits.data(), *y = targets.data();
  float *e = elements.data(), *d = dLogits.data();
  const bool posWeighted = a.gammaPos != 0.0f, negWeighted = a.gammaNeg != 0.0f;
  for (int64_t i = 0, n = logits.size(); i < n; i++) {
    const Terms t = terms(a, x[i], a.dLogits);
    const float yi = y[i], oneMinusY = 1.0f - yi;
    const float positive = posWeighted ? (yi * t.logP) * t.fp : yi * t.logP;
    const float negative = negWeighted ? (oneMinusY * t.logPNeg) * t.fn : oneMinusY * t.logPNeg;
    e[i] = -(positive + negative);
    if (a.dLogits) d[i] = 0.0f - (yi * t.dPos + oneMinusY * t.dNeg);
  }
}

// SliceseqAslTargetsGrad: input logits; output dElements/dTargets = logPNeg·fn − logP·fp (the targets enter E
// linearly, so this needs the logits only).
void aslTargetsCompute(void *kernel, TF_OpKernelContext *ctx) {
  const AslAttrs &a = *static_cast<const AslAttrs *>(kernel);
  Input logits(ctx, 0);
  if (!logits.ok()) return;
  Output dTargets(ctx, 0, logits.dims());
  if (!dTargets.ok()) return;
  const float *x = logits.data();
  float *d = dTargets.data();
  const bool posWeighted = a.gammaPos != 0.0f, negWeighted = a.gammaNeg != 0.0f;
  for (int64_t i = 0, n = logits.size(); i < n; i++) {
    const Terms t = terms(a, x[i], false);
    d[i] = (negWeighted ? t.logPNeg * t.fn : t.logPNeg) - (posWeighted ? t.logP * t.fp : t.logP);
  }
}

}  // namespace

std::vector<OpSpec> asymmetricLossOps() {
  return {
      {"SliceseqAsl",
       {"logits: float", "targets: float"},
       {"elements: float", "d_logits: float"},
       {"gamma_neg: float", "gamma_pos: float", "clip: float", "eps: float", "log_eps: float", "stop_gradient_focusing: bool", "with_d_logits: bool"},
       aslCompute,
       aslCreateWithBools,
       destroy<AslAttrs>},
      {"SliceseqAslTargetsGrad",
       {"logits: float"},
       {"d_targets: float"},
       {"gamma_neg: float", "gamma_pos: float", "clip: float", "eps: float", "log_eps: float"},
       aslTargetsCompute,
       aslCreateFloatsOnly,
       destroy<AslAttrs>},
  };
}

}  // namespace sliceseq
