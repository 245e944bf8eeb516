// The row gather of slice folding: [batch, slices, ...] ↔ the real slices' rows, in one op each way. What it
// replaces: Reshape + GatherV2 (folding), ConcatV2 with a zero row + GatherV2 + Reshape (unfolding), and the same
// again in their gradients.
//
// SliceseqGatherRows: inputs x (float) and index (int32, any shape); attr row_axes. The rows of x are its first
// row_axes axes taken as one; y has index's shape followed by x's remaining axes, and y's row i is x's row
// index[i], or zeros where index[i] is −1. Copies only: bitwise the per-op path's values.
//
// SliceseqReduceGrad: the gradient of a sum or (with `mean`) a mean over `axes` of x (global average pooling's
// [n, h, w, c] → [n, c], a loss's sum): inputs dy (x's shape without those axes) and x (for its shape); output dy
// spread over x's shape, divided by the number of elements averaged for a mean. tfjs's gradients run Reshape and
// Mul by uploaded ones (and RealDiv for the mean); dy·1 and (dy·1)/count are the same float32 values.
#include <cstring>
#include <string>
#include <vector>

#include "tf_op.h"

namespace sliceseq {
namespace {

struct RowsAttrs {
  int64_t rowAxes = 1;
};

void *rowsCreate(TF_OpKernelConstruction *construction) {
  Attrs read(construction);
  return new RowsAttrs{read.integer("row_axes")};
}

void gatherRowsCompute(void *kernel, TF_OpKernelContext *ctx) {
  const RowsAttrs &attrs = *static_cast<RowsAttrs *>(kernel);
  Input x(ctx, 0);
  Input index(ctx, 1, TF_INT32);
  if (!x.ok() || !index.ok()) return;
  if (attrs.rowAxes < 1 || attrs.rowAxes > x.rank()) {
    return fail(ctx, "SliceseqGatherRows: row_axes " + std::to_string(attrs.rowAxes) + " for x of rank " + std::to_string(x.rank()));
  }
  int64_t rows = 1, width = 1;
  std::vector<int64_t> dims = index.dims();
  for (int i = 0; i < x.rank(); i++) {
    if (i < attrs.rowAxes) {
      rows *= x.dim(i);
    } else {
      width *= x.dim(i);
      dims.push_back(x.dim(i));
    }
  }
  const int32_t *source = index.ints();
  const int64_t count = index.size();
  for (int64_t i = 0; i < count; i++) {
    if (source[i] < -1 || source[i] >= rows) {
      return fail(ctx, "SliceseqGatherRows: index " + std::to_string(source[i]) + " at " + std::to_string(i) + " is outside x's " + std::to_string(rows) +
                           " rows (−1 selects zeros)");
    }
  }
  Output y(ctx, 0, dims);
  if (!y.ok()) return;
  const size_t bytes = width * sizeof(float);
  for (int64_t i = 0; i < count; i++) {
    float *target = y.data() + i * width;
    if (source[i] < 0) std::memset(target, 0, bytes);
    else std::memcpy(target, x.data() + source[i] * width, bytes);
  }
}

struct ReduceGradAttrs {
  std::vector<int64_t> axes;
  bool mean = false;
};

void *reduceGradCreate(TF_OpKernelConstruction *construction) {
  Attrs read(construction);
  return new ReduceGradAttrs{read.integers("axes"), read.boolean("mean")};
}

void reduceGradCompute(void *kernel, TF_OpKernelContext *ctx) {
  const ReduceGradAttrs &attrs = *static_cast<ReduceGradAttrs *>(kernel);
  Input dy(ctx, 0), x(ctx, 1);
  if (!dy.ok() || !x.ok()) return;
  const int rank = x.rank();
  std::vector<bool> reduced(rank, false);
  for (int64_t axis : attrs.axes) {
    if (axis < 0 || axis >= rank || reduced[axis]) return fail(ctx, "SliceseqReduceGrad: axes must be distinct axes of x (rank " + std::to_string(rank) + ")");
    reduced[axis] = true;
  }
  if (attrs.axes.empty()) return fail(ctx, "SliceseqReduceGrad: no axes");
  // dy's stride for each axis of x (0 along the averaged axes), and the count averaged.
  std::vector<int64_t> stride(rank, 0);
  int64_t step = 1, count = 1, kept = 0;
  for (int i = rank - 1; i >= 0; i--) {
    if (reduced[i]) {
      count *= x.dim(i);
    } else {
      stride[i] = step;
      step *= x.dim(i);
    }
  }
  for (int i = 0; i < rank; i++) kept += reduced[i] ? 0 : 1;
  if (dy.size() != step || dy.rank() != kept) {
    return fail(ctx, "SliceseqReduceGrad: dy has " + std::to_string(dy.size()) + " values in " + std::to_string(dy.rank()) + " axes, the reduction " + std::to_string(step) +
                         " in " + std::to_string(kept));
  }
  Output out(ctx, 0, x.dims());
  if (!out.ok()) return;
  const float divisor = static_cast<float>(count);
  const float *g = dy.data();
  float *o = out.data();
  const bool mean = attrs.mean;
  const std::vector<int64_t> dims = x.dims();
  // x's trailing axes up to the last reduced one are contiguous in dy too: write them as one run per position of
  // the leading axes (global average pooling: a run of channels per pixel), the leading axes odometer-style.
  int lead = rank;
  int64_t run = 1;
  while (lead > 0 && !reduced[lead - 1]) run *= dims[--lead];
  std::vector<int64_t> index(lead, 0);
  int64_t source = 0;
  for (int64_t start = 0, size = x.size(); start < size; start += run) {
    const float *from = g + source;
    float *to = o + start;
    if (mean) {
      for (int64_t j = 0; j < run; j++) to[j] = (from[j] * 1.0f) / divisor;
    } else {
      for (int64_t j = 0; j < run; j++) to[j] = from[j] * 1.0f;
    }
    for (int a = lead - 1; a >= 0; a--) {
      source += stride[a];
      if (++index[a] < dims[a]) break;
      source -= stride[a] * dims[a];
      index[a] = 0;
    }
  }
}

}  // namespace

std::vector<OpSpec> rowsOps() {
  return {
      {"SliceseqGatherRows", {"x: float", "index: int32"}, {"y: float"}, {"row_axes: int >= 1"}, gatherRowsCompute, rowsCreate, destroy<RowsAttrs>},
      {"SliceseqReduceGrad", {"dy: float", "x: float"}, {"dx: float"}, {"axes: list(int)", "mean: bool"}, reduceGradCompute, reduceGradCreate, destroy<ReduceGradAttrs>},
  };
}

}  // namespace sliceseq
