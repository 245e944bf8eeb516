// The optimizer ops: one Adam step over every variable at once, and the global norm of a list of gradients.
#include <cmath>

#include "tf_op.h"

namespace sliceseq {
namespace {

// SliceseqAdam: inputs m, v (the flat moments, every variable's elements in order), acc_beta1, acc_beta2 (scalars
// β1ᵗ, β2ᵗ), hyper [β1, 1 − β1, β2, 1 − β2, ε, −lr] (as float32, the constants tfjs's Adam uploads), g: N
// gradients, x: N values. Outputs m, v, acc_beta1·β1, acc_beta2·β2 and the N new values, each of its variable's
// shape. Per element, in tfjs's order of float32 operations (so the numbers are tfjs's AdamOptimizer's):
//   m ← m·β1 + g·(1 − β1),  v ← v·β2 + g²·(1 − β2),
//   x ← (m / (1 − β1ᵗ)) / (√(v / (1 − β2ᵗ)) + ε) · (−lr) + x.
void adamCompute(void *, TF_OpKernelContext *ctx) {
  const int n = (TF_NumInputs(ctx) - 5) / 2;
  Input m(ctx, 0), v(ctx, 1), accBeta1(ctx, 2), accBeta2(ctx, 3), hyper(ctx, 4);
  if (!m.ok() || !v.ok() || !accBeta1.ok() || !accBeta2.ok() || !hyper.ok()) return;
  if (hyper.size() != 6 || accBeta1.size() != 1 || accBeta2.size() != 1 || v.size() != m.size()) {
    return fail(ctx, "SliceseqAdam: hyper must hold 6 values, acc_beta1 and acc_beta2 one each, m and v the same count");
  }
  const float b1 = hyper.data()[0], oneMinusB1 = hyper.data()[1], b2 = hyper.data()[2], oneMinusB2 = hyper.data()[3];
  const float eps = hyper.data()[4], minusLr = hyper.data()[5];
  const float a1 = accBeta1.data()[0], a2 = accBeta2.data()[0];
  const float m1 = 1.0f - a1, m2 = 1.0f - a2;

  Output mOut(ctx, 0, m.dims()), vOut(ctx, 1, v.dims()), a1Out(ctx, 2, {}), a2Out(ctx, 3, {});
  if (!mOut.ok() || !vOut.ok() || !a1Out.ok() || !a2Out.ok()) return;
  a1Out.data()[0] = a1 * b1;
  a2Out.data()[0] = a2 * b2;

  int64_t offset = 0;
  for (int k = 0; k < n; k++) {
    Input g(ctx, 5 + k), x(ctx, 5 + n + k);
    if (!g.ok() || !x.ok()) return;
    const int64_t count = g.size();
    if (x.size() != count || offset + count > m.size()) {
      return fail(ctx, "SliceseqAdam: variable " + std::to_string(k) + " has " + std::to_string(x.size()) + " values and " +
                           std::to_string(count) + " gradients at offset " + std::to_string(offset) + " of " + std::to_string(m.size()));
    }
    Output xOut(ctx, 4 + k, x.dims());
    if (!xOut.ok()) return;
    const float *gd = g.data(), *xd = x.data(), *md = m.data() + offset, *vd = v.data() + offset;
    float *mo = mOut.data() + offset, *vo = vOut.data() + offset, *xo = xOut.data();
    for (int64_t i = 0; i < count; i++) {
      const float gi = gd[i];
      const float mi = md[i] * b1 + gi * oneMinusB1;
      const float vi = vd[i] * b2 + (gi * gi) * oneMinusB2;
      mo[i] = mi;
      vo[i] = vi;
      xo[i] = ((mi / m1) / (std::sqrt(vi / m2) + eps)) * minusLr + xd[i];
    }
    offset += count;
  }
  if (offset != m.size()) fail(ctx, "SliceseqAdam: the variables hold " + std::to_string(offset) + " values, the moments " + std::to_string(m.size()));
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

std::vector<OpSpec> flatAdamOps() {
  return {
      {"SliceseqAdam",
       {"m: float", "v: float", "acc_beta1: float", "acc_beta2: float", "hyper: float", "g: N * float", "x: N * float"},
       {"m_out: float", "v_out: float", "acc_beta1_out: float", "acc_beta2_out: float", "x_out: N * float"},
       {"N: int >= 1"},
       adamCompute},
      {"SliceseqGlobalNorm", {"g: N * float"}, {"norm: float"}, {"N: int >= 1"}, globalNormCompute},
  };
}

}  // namespace sliceseq
