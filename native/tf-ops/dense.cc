// The dense ops: x·w + b over the last axis in one op, with the layout changes around it that the recurrent layers
// need (time-major ↔ batch-major, two directions side by side), and its backward pass in one op. What they replace,
// per call: Transpose, Reshape, MatMul, Add, Reshape (and ReverseV2 + ConcatV2 of two directions) forward, and
// Reshape, Sum, two MatMuls, Reshape, Transpose (and SplitV + ReverseV2) backward.
//
// x is N parts side by side along their last axis (x = concat(x₀ … x_{N−1}), each [n, fᵢ] or [a, b, fᵢ] with the
// same leading axes); w [Σfᵢ, o]; bias [o]. With `reverse_last` the last part is read in reverse order along its
// first axis (a backward direction's outputs: its step i holds step a − 1 − i). Row r of x (r = i·b + j for
// rank 3) goes to row r of y, or with `swap` to row j·a + i (y [b, a, o]: the first two axes traded). With `merge`
// y's last two axes are one ([b, a·o] with swap, [a, b·o] without). swap, merge and reverse_last need rank 3.
// Each y element is (Σₖ x·w, k ascending over the joined features) + bias, rounded like MatMul followed by Add; the
// sum's order differs from Eigen's blocked product, so results agree with MatMul within float32 rounding.
#include <string>
#include <vector>

#include "tf_op.h"

namespace sliceseq {
namespace {

struct DenseAttrs {
  bool swap = false;
  bool merge = false;
  bool reverseLast = false;
};

void *denseCreate(TF_OpKernelConstruction *construction) {
  Attrs read(construction);
  return new DenseAttrs{read.boolean("swap"), read.boolean("merge"), read.boolean("reverse_last")};
}

// The shapes of one call: rows of x (a·b), each part's features and first row of w, the row maps and y's dims.
struct Layout {
  int64_t a = 0, b = 0, f = 0, o = 0;
  bool rank3 = false;
  std::vector<int64_t> partFeatures, partOffset;
  std::vector<int64_t> yDims;

  int64_t rows() const { return a * b; }
  // y's row for x's row r.
  int64_t target(int64_t r, bool swap) const { return swap ? (r % b) * a + r / b : r; }
  // The row of a part read in reverse step order that holds x's row r.
  int64_t reversed(int64_t r) const { return (a - 1 - r / b) * b + r % b; }
};

std::string layoutOf(const char *op, const std::vector<Input> &parts, const Input &w, const DenseAttrs &attrs, Layout &layout) {
  const std::string name(op);
  if (w.rank() != 2) return name + ": w must be [features, outputs], got rank " + std::to_string(w.rank());
  const Input &x = parts[0];
  if (x.rank() != 2 && x.rank() != 3) return name + ": x must be [rows, features] or [a, b, features], got rank " + std::to_string(x.rank());
  layout.rank3 = x.rank() == 3;
  if ((attrs.swap || attrs.merge || attrs.reverseLast) && !layout.rank3) return name + ": swap, merge and reverse_last need a rank-3 x";
  layout.a = x.dim(0);
  layout.b = layout.rank3 ? x.dim(1) : 1;
  layout.o = w.dim(1);
  for (size_t i = 0; i < parts.size(); i++) {
    const Input &part = parts[i];
    if (part.rank() != x.rank() || part.dim(0) != layout.a || (layout.rank3 && part.dim(1) != layout.b)) {
      return name + ": x part " + std::to_string(i) + " does not share part 0's leading axes";
    }
    layout.partOffset.push_back(layout.f);
    layout.partFeatures.push_back(part.dim(part.rank() - 1));
    layout.f += layout.partFeatures.back();
  }
  if (w.dim(0) != layout.f) {
    return name + ": x has " + std::to_string(layout.f) + " features, w " + std::to_string(w.dim(0)) + " rows";
  }
  const int64_t first = attrs.swap ? layout.b : layout.a, second = attrs.swap ? layout.a : layout.b;
  if (!layout.rank3) layout.yDims = {layout.a, layout.o};
  else if (attrs.merge) layout.yDims = {first, second * layout.o};
  else layout.yDims = {first, second, layout.o};
  return "";
}

// The N parts of x from input `from` on (all present, or the call has failed: check the last one's ok()).
std::vector<Input> partsOf(TF_OpKernelContext *ctx, int from, int count) {
  std::vector<Input> parts;
  parts.reserve(count);
  for (int i = 0; i < count; i++) {
    parts.emplace_back(ctx, from + i);
    if (!parts.back().ok()) break;
  }
  return parts;
}

bool allOk(const std::vector<Input> &parts, int count) { return static_cast<int>(parts.size()) == count && parts.back().ok(); }

// The products' loops run along contiguous rows (vectorised; each element's sum keeps its order), with an AVX2
// copy (SLICESEQ_VECTOR_CLONES, tf_op.h).

// SliceseqDense: inputs x (N parts), w, bias; output y (above).
SLICESEQ_VECTOR_CLONES void denseCompute(void *kernel, TF_OpKernelContext *ctx) {
  const DenseAttrs &attrs = *static_cast<DenseAttrs *>(kernel);
  const int n = TF_NumInputs(ctx) - 2;
  std::vector<Input> parts = partsOf(ctx, 0, n);
  if (!allOk(parts, n)) return;
  Input w(ctx, n), bias(ctx, n + 1);
  if (!w.ok() || !bias.ok()) return;
  Layout layout;
  std::string error = layoutOf("SliceseqDense", parts, w, attrs, layout);
  if (!error.empty()) return fail(ctx, error);
  if (bias.size() != layout.o) return fail(ctx, "SliceseqDense: bias has " + std::to_string(bias.size()) + " values for " + std::to_string(layout.o) + " outputs");
  Output y(ctx, 0, layout.yDims);
  if (!y.ok()) return;
  const int64_t o = layout.o;
  const float *wd = w.data(), *bd = bias.data();
  std::vector<float> sum(o);
  for (int64_t r = 0, rows = layout.rows(); r < rows; r++) {
    std::fill(sum.begin(), sum.end(), 0.0f);
    for (int p = 0; p < n; p++) {
      const int64_t f = layout.partFeatures[p];
      const int64_t row = attrs.reverseLast && p == n - 1 ? layout.reversed(r) : r;
      const float *xr = parts[p].data() + row * f;
      const float *wp = wd + layout.partOffset[p] * o;
      for (int64_t k = 0; k < f; k++) {
        const float xk = xr[k];
        const float *wk = wp + k * o;
        for (int64_t j = 0; j < o; j++) sum[j] += xk * wk[j];
      }
    }
    float *yr = y.data() + layout.target(r, attrs.swap) * o;
    for (int64_t j = 0; j < o; j++) yr[j] = sum[j] + bd[j];
  }
}

// SliceseqDenseGrad: inputs dy (y's shape), x (N parts), w; outputs dx (N parts, each its part's shape) = dy·wᵀ,
// dw = xᵀ·dy, dbias = Σ dy.
SLICESEQ_VECTOR_CLONES void denseGradCompute(void *kernel, TF_OpKernelContext *ctx) {
  const DenseAttrs &attrs = *static_cast<DenseAttrs *>(kernel);
  const int n = TF_NumInputs(ctx) - 2;
  Input dy(ctx, 0);
  if (!dy.ok()) return;
  std::vector<Input> parts = partsOf(ctx, 1, n);
  if (!allOk(parts, n)) return;
  Input w(ctx, n + 1);
  if (!w.ok()) return;
  Layout layout;
  std::string error = layoutOf("SliceseqDenseGrad", parts, w, attrs, layout);
  if (!error.empty()) return fail(ctx, error);
  const int64_t f = layout.f, o = layout.o, rows = layout.rows();
  if (dy.size() != rows * o) {
    return fail(ctx, "SliceseqDenseGrad: dy has " + std::to_string(dy.size()) + " values, y " + std::to_string(rows * o));
  }
  std::vector<Output> dx;
  dx.reserve(n);
  for (int p = 0; p < n; p++) {
    dx.emplace_back(ctx, p, parts[p].dims());
    if (!dx.back().ok()) return;
  }
  Output dw(ctx, n, w.dims()), dbias(ctx, n + 1, {o});
  if (!dw.ok() || !dbias.ok()) return;
  const float *wd = w.data(), *dyd = dy.data();
  // wᵀ [o, f], so that dx's rows accumulate along contiguous memory.
  std::vector<float> wt(o * f);
  for (int64_t k = 0; k < f; k++)
    for (int64_t j = 0; j < o; j++) wt[j * f + k] = wd[k * o + j];
  float *dwd = dw.data(), *dbd = dbias.data();
  std::fill(dwd, dwd + f * o, 0.0f);
  std::fill(dbd, dbd + o, 0.0f);
  for (int64_t r = 0; r < rows; r++) {
    const float *g = dyd + layout.target(r, attrs.swap) * o;
    for (int p = 0; p < n; p++) {
      const int64_t fp = layout.partFeatures[p], offset = layout.partOffset[p];
      const int64_t row = attrs.reverseLast && p == n - 1 ? layout.reversed(r) : r;
      const float *xr = parts[p].data() + row * fp;
      float *dxr = dx[p].data() + row * fp;
      std::fill(dxr, dxr + fp, 0.0f);
      for (int64_t j = 0; j < o; j++) {
        const float gj = g[j];
        const float *wtj = wt.data() + j * f + offset;
        for (int64_t k = 0; k < fp; k++) dxr[k] += gj * wtj[k];
      }
      for (int64_t k = 0; k < fp; k++) {
        const float xk = xr[k];
        float *dwk = dwd + (offset + k) * o;
        for (int64_t j = 0; j < o; j++) dwk[j] += xk * g[j];
      }
    }
    for (int64_t j = 0; j < o; j++) dbd[j] += g[j];
  }
}

}  // namespace

std::vector<OpSpec> denseOps() {
  return {
      {"SliceseqDense",
       {"x: N * float", "w: float", "bias: float"},
       {"y: float"},
       {"N: int >= 1", "swap: bool = false", "merge: bool = false", "reverse_last: bool = false"},
       denseCompute,
       denseCreate,
       destroy<DenseAttrs>},
      {"SliceseqDenseGrad",
       {"dy: float", "x: N * float", "w: float"},
       {"dx: N * float", "dw: float", "dbias: float"},
       {"N: int >= 1", "swap: bool = false", "merge: bool = false", "reverse_last: bool = false"},
       denseGradCompute,
       denseCreate,
       destroy<DenseAttrs>},
  };
}

}  // namespace sliceseq
