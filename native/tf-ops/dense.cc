// The dense ops: x·w + b over the last axis of x in one op, with the layout changes around it that the recurrent
// layers need (time-major ↔ batch-major), and its backward pass in one op. What they replace, per call: Transpose,
// Reshape, MatMul, Add, Reshape forward and Reshape, Sum, two MatMuls, Reshape, Transpose backward.
//
// x is [n, f] or [a, b, f]; w [f, o]; bias [o]. Row r of x (r = i·b + j for a rank-3 x) goes to row r of y, or with
// `swap` to row j·a + i (y [b, a, o]: the first two axes traded). With `merge` y's last two axes are one
// ([b, a·o] with swap, [a, b·o] without). swap and merge need a rank-3 x; a rank-2 x gives y [n, o].
// Each y element is (Σₖ x·w, k ascending) + bias, rounded like MatMul followed by Add; the sum's order differs
// from Eigen's blocked product, so results agree with MatMul within float32 rounding, not bitwise.
#include <string>
#include <vector>

#include "tf_op.h"

namespace sliceseq {
namespace {

struct DenseAttrs {
  bool swap = false;
  bool merge = false;
};

void *denseCreate(TF_OpKernelConstruction *construction) {
  auto *attrs = new DenseAttrs();
  TF_Status *status = TF_NewStatus();
  unsigned char value = 0;
  TF_OpKernelConstruction_GetAttrBool(construction, "swap", &value, status);
  attrs->swap = TF_GetCode(status) == TF_OK && value;
  TF_OpKernelConstruction_GetAttrBool(construction, "merge", &value, status);
  attrs->merge = TF_GetCode(status) == TF_OK && value;
  TF_DeleteStatus(status);
  return attrs;
}

void denseDestroy(void *kernel) { delete static_cast<DenseAttrs *>(kernel); }

// The shapes of one call: rows of x (a·b), the row map and y's dims; an empty string, or what is wrong.
struct Layout {
  int64_t a = 0, b = 0, f = 0, o = 0;
  bool rank3 = false;
  std::vector<int64_t> yDims;

  int64_t rows() const { return a * b; }
  // y's row for x's row r.
  int64_t target(int64_t r, bool swap) const { return swap ? (r % b) * a + r / b : r; }
};

std::string layoutOf(const char *op, const Input &x, const Input &w, const DenseAttrs &attrs, Layout &layout) {
  if (w.rank() != 2) return std::string(op) + ": w must be [features, outputs], got rank " + std::to_string(w.rank());
  if (x.rank() != 2 && x.rank() != 3) return std::string(op) + ": x must be [rows, features] or [a, b, features], got rank " + std::to_string(x.rank());
  layout.rank3 = x.rank() == 3;
  if ((attrs.swap || attrs.merge) && !layout.rank3) return std::string(op) + ": swap and merge need a rank-3 x";
  layout.a = x.dim(0);
  layout.b = layout.rank3 ? x.dim(1) : 1;
  layout.f = x.dim(x.rank() - 1);
  layout.o = w.dim(1);
  if (w.dim(0) != layout.f) {
    return std::string(op) + ": x has " + std::to_string(layout.f) + " features, w " + std::to_string(w.dim(0)) + " rows";
  }
  const int64_t first = attrs.swap ? layout.b : layout.a, second = attrs.swap ? layout.a : layout.b;
  if (!layout.rank3) layout.yDims = {layout.a, layout.o};
  else if (attrs.merge) layout.yDims = {first, second * layout.o};
  else layout.yDims = {first, second, layout.o};
  return "";
}

// The products' loops run along contiguous rows (vectorised; each element's sum keeps its order), built for AVX2
// and plain x86-64 with the CPU's choice at load time (GCC's target_clones; the same numbers either way).
#if defined(__x86_64__) && defined(__GNUC__)
#define SLICESEQ_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define SLICESEQ_VECTOR_CLONES
#endif

// SliceseqDense: inputs x, w, bias; output y (above).
SLICESEQ_VECTOR_CLONES void denseCompute(void *kernel, TF_OpKernelContext *ctx) {
  const DenseAttrs &attrs = *static_cast<DenseAttrs *>(kernel);
  Input x(ctx, 0), w(ctx, 1), bias(ctx, 2);
  if (!x.ok() || !w.ok() || !bias.ok()) return;
  Layout layout;
  std::string error = layoutOf("SliceseqDense", x, w, attrs, layout);
  if (!error.empty()) return fail(ctx, error);
  if (bias.size() != layout.o) return fail(ctx, "SliceseqDense: bias has " + std::to_string(bias.size()) + " values for " + std::to_string(layout.o) + " outputs");
  Output y(ctx, 0, layout.yDims);
  if (!y.ok()) return;
  const int64_t f = layout.f, o = layout.o;
  const float *xd = x.data(), *wd = w.data(), *bd = bias.data();
  std::vector<float> sum(o);
  for (int64_t r = 0, rows = layout.rows(); r < rows; r++) {
    std::fill(sum.begin(), sum.end(), 0.0f);
    const float *xr = xd + r * f;
    for (int64_t k = 0; k < f; k++) {
      const float xk = xr[k];
      const float *wk = wd + k * o;
      for (int64_t j = 0; j < o; j++) sum[j] += xk * wk[j];
    }
    float *yr = y.data() + layout.target(r, attrs.swap) * o;
    for (int64_t j = 0; j < o; j++) yr[j] = sum[j] + bd[j];
  }
}

// SliceseqDenseGrad: inputs dy (y's shape), x, w; outputs dx = dy·wᵀ (x's shape), dw = xᵀ·dy, dbias = Σ dy.
SLICESEQ_VECTOR_CLONES void denseGradCompute(void *kernel, TF_OpKernelContext *ctx) {
  const DenseAttrs &attrs = *static_cast<DenseAttrs *>(kernel);
  Input dy(ctx, 0), x(ctx, 1), w(ctx, 2);
  if (!dy.ok() || !x.ok() || !w.ok()) return;
  Layout layout;
  std::string error = layoutOf("SliceseqDenseGrad", x, w, attrs, layout);
  if (!error.empty()) return fail(ctx, error);
  const int64_t f = layout.f, o = layout.o, rows = layout.rows();
  if (dy.size() != rows * o) {
    return fail(ctx, "SliceseqDenseGrad: dy has " + std::to_string(dy.size()) + " values, y " + std::to_string(rows * o));
  }
  Output dx(ctx, 0, x.dims()), dw(ctx, 1, w.dims()), dbias(ctx, 2, {o});
  if (!dx.ok() || !dw.ok() || !dbias.ok()) return;
  const float *xd = x.data(), *wd = w.data(), *dyd = dy.data();
  // wᵀ [o, f], so that dx's rows accumulate along contiguous memory.
  std::vector<float> wt(o * f);
  for (int64_t k = 0; k < f; k++)
    for (int64_t j = 0; j < o; j++) wt[j * f + k] = wd[k * o + j];
  float *dwd = dw.data(), *dbd = dbias.data();
  std::fill(dwd, dwd + f * o, 0.0f);
  std::fill(dbd, dbd + o, 0.0f);
  for (int64_t r = 0; r < rows; r++) {
    const float *g = dyd + layout.target(r, attrs.swap) * o;
    const float *xr = xd + r * f;
    float *dxr = dx.data() + r * f;
    std::fill(dxr, dxr + f, 0.0f);
    for (int64_t j = 0; j < o; j++) {
      const float gj = g[j];
      const float *wtj = wt.data() + j * f;
      for (int64_t k = 0; k < f; k++) dxr[k] += gj * wtj[k];
    }
    for (int64_t k = 0; k < f; k++) {
      const float xk = xr[k];
      float *dwk = dwd + k * o;
      for (int64_t j = 0; j < o; j++) dwk[j] += xk * g[j];
    }
    for (int64_t j = 0; j < o; j++) dbd[j] += g[j];
  }
}

}  // namespace

std::vector<OpSpec> denseOps() {
  return {
      {"SliceseqDense", {"x: float", "w: float", "bias: float"}, {"y: float"}, {"swap: bool = false", "merge: bool = false"}, denseCompute, denseCreate, denseDestroy},
      {"SliceseqDenseGrad",
       {"dy: float", "x: float", "w: float"},
       {"dx: float", "dw: float", "dbias: float"},
       {"swap: bool = false", "merge: bool = false"},
       denseGradCompute,
       denseCreate,
       denseDestroy},
  };
}

}  // namespace sliceseq
