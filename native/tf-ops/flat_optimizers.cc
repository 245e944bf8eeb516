// The flat optimizers' ops (src/backend/flat-*.ts): one step of Adam, SGD with momentum or RMSProp over every
// variable at once, and the global norm of a list of gradients. The optimizer's slots are flat vectors (every
// variable's elements in order); each variable's gradient and value come in as their own tensors and its new value
// goes out in its shape, so nothing is gathered or split. Per element the float32 operations are tfjs's, in tfjs's
// order (each rounds where TF's op rounds: -ffp-contract=off), so the numbers are tfjs's optimizers', bitwise.
#include <cmath>

#include "tf_op.h"

namespace sliceseq {
namespace {

// Reads the `count` hyperparameters at input `index` (tfjs's constants, as float32).
bool hyperparameters(TF_OpKernelContext *ctx, const char *op, int index, int count, float *out) {
  Input hyper(ctx, index);
  if (!hyper.ok()) return false;
  if (hyper.size() != count) {
    fail(ctx, std::string(op) + ": hyper must hold " + std::to_string(count) + " values, got " + std::to_string(hyper.size()));
    return false;
  }
  for (int i = 0; i < count; i++) out[i] = hyper.data()[i];
  return true;
}

// The N variables of a call: gradients at inputs [first, first + N), values at [first + N, first + 2N), new values
// at outputs [firstOutput, firstOutput + N). `update(g, x, out, offset, count)` steps one variable whose elements sit
// at [offset, offset + count) of the flat slots (`slotSize` elements in all). False when the call failed.
template <typename Update>
bool eachVariable(TF_OpKernelContext *ctx, const char *op, int first, int firstOutput, int64_t slotSize, Update update) {
  const int n = (TF_NumInputs(ctx) - first) / 2;
  int64_t offset = 0;
  for (int k = 0; k < n; k++) {
    Input g(ctx, first + k), x(ctx, first + n + k);
    if (!g.ok() || !x.ok()) return false;
    const int64_t count = g.size();
    if (x.size() != count || offset + count > slotSize) {
      fail(ctx, std::string(op) + ": variable " + std::to_string(k) + " has " + std::to_string(x.size()) + " values and " + std::to_string(count) +
                    " gradients at offset " + std::to_string(offset) + " of the slots' " + std::to_string(slotSize));
      return false;
    }
    Output out(ctx, firstOutput + k, x.dims());
    if (!out.ok()) return false;
    update(g.data(), x.data(), out.data(), offset, count);
    offset += count;
  }
  if (offset != slotSize) {
    fail(ctx, std::string(op) + ": the variables hold " + std::to_string(offset) + " values, the slots " + std::to_string(slotSize));
    return false;
  }
  return true;
}

// SliceseqAdam: inputs m, v (flat), acc_beta1, acc_beta2 (scalars β1ᵗ, β2ᵗ), hyper [β1, 1 − β1, β2, 1 − β2, ε, −lr],
// g: N, x: N. Outputs m, v, acc_beta1·β1, acc_beta2·β2, x: N.
//   m ← m·β1 + g·(1 − β1),  v ← v·β2 + g²·(1 − β2),  x ← (m / (1 − β1ᵗ)) / (√(v / (1 − β2ᵗ)) + ε) · (−lr) + x.
void adamCompute(void *, TF_OpKernelContext *ctx) {
  float h[6];
  Input m(ctx, 0), v(ctx, 1), accBeta1(ctx, 2), accBeta2(ctx, 3);
  if (!m.ok() || !v.ok() || !accBeta1.ok() || !accBeta2.ok() || !hyperparameters(ctx, "SliceseqAdam", 4, 6, h)) return;
  if (accBeta1.size() != 1 || accBeta2.size() != 1 || v.size() != m.size()) {
    return fail(ctx, "SliceseqAdam: acc_beta1 and acc_beta2 must be scalars, and m and v of one size");
  }
  const float b1 = h[0], oneMinusB1 = h[1], b2 = h[2], oneMinusB2 = h[3], eps = h[4], minusLr = h[5];
  const float a1 = accBeta1.data()[0], a2 = accBeta2.data()[0];
  const float m1 = 1.0f - a1, m2 = 1.0f - a2;
  Output mOut(ctx, 0, m.dims()), vOut(ctx, 1, v.dims()), a1Out(ctx, 2, {}), a2Out(ctx, 3, {});
  if (!mOut.ok() || !vOut.ok() || !a1Out.ok() || !a2Out.ok()) return;
  a1Out.data()[0] = a1 * b1;
  a2Out.data()[0] = a2 * b2;
  eachVariable(ctx, "SliceseqAdam", 5, 4, m.size(), [&](const float *g, const float *x, float *out, int64_t offset, int64_t count) {
    const float *mIn = m.data() + offset, *vIn = v.data() + offset;
    float *mNew = mOut.data() + offset, *vNew = vOut.data() + offset;
    for (int64_t i = 0; i < count; i++) {
      const float mi = mIn[i] * b1 + g[i] * oneMinusB1;
      const float vi = vIn[i] * b2 + (g[i] * g[i]) * oneMinusB2;
      mNew[i] = mi;
      vNew[i] = vi;
      out[i] = ((mi / m1) / (std::sqrt(vi / m2) + eps)) * minusLr + x[i];
    }
  });
}

// SliceseqMomentum: inputs accumulation (flat), hyper [μ, −lr], g: N, x: N; attr nesterov. Outputs accumulation, x: N.
//   a ← μ·a + g;  x ← (−lr)·a + x,  or with Nesterov  x ← (−lr)·(g + a·μ) + x.
struct MomentumKernel {
  bool nesterov = false;
};

void *momentumCreate(TF_OpKernelConstruction *construction) {
  Attrs read(construction);
  return new MomentumKernel{read.boolean("nesterov")};
}

void momentumCompute(void *state, TF_OpKernelContext *ctx) {
  const bool nesterov = static_cast<MomentumKernel *>(state)->nesterov;
  float h[2];
  Input accumulation(ctx, 0);
  if (!accumulation.ok() || !hyperparameters(ctx, "SliceseqMomentum", 1, 2, h)) return;
  const float mu = h[0], c = h[1];
  Output accOut(ctx, 0, accumulation.dims());
  if (!accOut.ok()) return;
  eachVariable(ctx, "SliceseqMomentum", 2, 1, accumulation.size(), [&](const float *g, const float *x, float *out, int64_t offset, int64_t count) {
    const float *aIn = accumulation.data() + offset;
    float *aNew = accOut.data() + offset;
    for (int64_t i = 0; i < count; i++) {
      const float a = mu * aIn[i] + g[i];
      aNew[i] = a;
      out[i] = c * (nesterov ? g[i] + a * mu : a) + x[i];
    }
  });
}

// SliceseqRMSProp (not centered): inputs mean_square, moments (flat), hyper [ρ, 1 − ρ, μ, lr, ε], g: N, x: N.
// Outputs mean_square, moments, x: N.   s ← s·ρ + g²·(1 − ρ);  a ← a·μ + (g·lr) / √(s + ε);  x ← x − a.
void rmspropCompute(void *, TF_OpKernelContext *ctx) {
  float h[5];
  Input meanSquare(ctx, 0), moments(ctx, 1);
  if (!meanSquare.ok() || !moments.ok() || !hyperparameters(ctx, "SliceseqRMSProp", 2, 5, h)) return;
  if (moments.size() != meanSquare.size()) return fail(ctx, "SliceseqRMSProp: mean_square and moments must be of one size");
  const float rho = h[0], oneMinusRho = h[1], mu = h[2], lr = h[3], eps = h[4];
  Output sOut(ctx, 0, meanSquare.dims()), aOut(ctx, 1, moments.dims());
  if (!sOut.ok() || !aOut.ok()) return;
  eachVariable(ctx, "SliceseqRMSProp", 3, 2, meanSquare.size(), [&](const float *g, const float *x, float *out, int64_t offset, int64_t count) {
    const float *sIn = meanSquare.data() + offset, *aIn = moments.data() + offset;
    float *sNew = sOut.data() + offset, *aNew = aOut.data() + offset;
    for (int64_t i = 0; i < count; i++) {
      const float s = sIn[i] * rho + (g[i] * g[i]) * oneMinusRho;
      const float a = aIn[i] * mu + (g[i] * lr) / std::sqrt(s + eps);
      sNew[i] = s;
      aNew[i] = a;
      out[i] = x[i] - a;
    }
  });
}

// SliceseqGlobalNorm: input g: N tensors; output the scalar √(Σₖ Σᵢ gₖᵢ²), summed in double.
void globalNormCompute(void *, TF_OpKernelContext *ctx) {
  double sum = 0;
  for (int k = 0, n = TF_NumInputs(ctx); k < n; k++) {
    Input g(ctx, k);
    if (!g.ok()) return;
    const float *d = g.data();
    for (int64_t i = 0, count = g.size(); i < count; i++) sum += static_cast<double>(d[i]) * d[i];
  }
  Output norm(ctx, 0, {});
  if (norm.ok()) norm.data()[0] = static_cast<float>(std::sqrt(sum));
}

}  // namespace

std::vector<OpSpec> flatOptimizerOps() {
  return {
      {"SliceseqAdam",
       {"m: float", "v: float", "acc_beta1: float", "acc_beta2: float", "hyper: float", "g: N * float", "x: N * float"},
       {"m_out: float", "v_out: float", "acc_beta1_out: float", "acc_beta2_out: float", "x_out: N * float"},
       {"N: int >= 1"},
       adamCompute},
      {"SliceseqMomentum",
       {"accumulation: float", "hyper: float", "g: N * float", "x: N * float"},
       {"accumulation_out: float", "x_out: N * float"},
       {"N: int >= 1", "nesterov: bool"},
       momentumCompute,
       momentumCreate,
       destroy<MomentumKernel>},
      {"SliceseqRMSProp",
       {"mean_square: float", "moments: float", "hyper: float", "g: N * float", "x: N * float"},
       {"mean_square_out: float", "moments_out: float", "x_out: N * float"},
       {"N: int >= 1"},
       rmspropCompute},
      {"SliceseqGlobalNorm", {"g: N * float"}, {"norm: float"}, {"N: int >= 1"}, globalNormCompute},
  };
}

}  // namespace sliceseq
