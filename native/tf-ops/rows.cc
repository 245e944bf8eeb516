// The row gather of slice folding: [batch, slices, ...] ↔ the real slices' rows, in one op each way. What it
// replaces: Reshape + GatherV2 (folding), ConcatV2 with a zero row + GatherV2 + Reshape (unfolding), and the same
// again in their gradients.
//
// SliceseqGatherRows: inputs x (float) and index (int32, any shape); attr row_axes. The rows of x are its first
// row_axes axes taken as one; y has index's shape followed by x's remaining axes, and y's row i is x's row
// index[i], or zeros where index[i] is −1. Copies only: bitwise the per-op path's values.
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
  auto *attrs = new RowsAttrs();
  TF_Status *status = TF_NewStatus();
  int64_t value = 1;
  TF_OpKernelConstruction_GetAttrInt64(construction, "row_axes", &value, status);
  if (TF_GetCode(status) == TF_OK) attrs->rowAxes = value;
  TF_DeleteStatus(status);
  return attrs;
}

void rowsDestroy(void *kernel) { delete static_cast<RowsAttrs *>(kernel); }

// An int32 input (released with this object); null data when missing or of another type (the call has failed).
class IndexInput {
 public:
  IndexInput(TF_OpKernelContext *ctx, int index) {
    TF_Status *status = TF_NewStatus();
    TF_GetInput(ctx, index, &tensor_, status);
    const bool got = TF_GetCode(status) == TF_OK;
    TF_DeleteStatus(status);
    if (!got || TF_TensorType(tensor_) != TF_INT32) {
      fail(ctx, "SliceseqGatherRows: input " + std::to_string(index) + " must be an int32 tensor");
      return;
    }
    data_ = static_cast<const int32_t *>(TF_TensorData(tensor_));
  }
  ~IndexInput() {
    if (tensor_) TF_DeleteTensor(tensor_);
  }
  IndexInput(const IndexInput &) = delete;
  IndexInput &operator=(const IndexInput &) = delete;

  const int32_t *data() const { return data_; }
  int64_t size() const { return TF_TensorElementCount(tensor_); }
  std::vector<int64_t> dims() const {
    std::vector<int64_t> out(TF_NumDims(tensor_));
    for (size_t i = 0; i < out.size(); i++) out[i] = TF_Dim(tensor_, static_cast<int>(i));
    return out;
  }

 private:
  TF_Tensor *tensor_ = nullptr;
  const int32_t *data_ = nullptr;
};

void gatherRowsCompute(void *kernel, TF_OpKernelContext *ctx) {
  const RowsAttrs &attrs = *static_cast<RowsAttrs *>(kernel);
  Input x(ctx, 0);
  IndexInput index(ctx, 1);
  if (!x.ok() || !index.data()) return;
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
  const int32_t *source = index.data();
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

}  // namespace

std::vector<OpSpec> rowsOps() {
  return {
      {"SliceseqGatherRows", {"x: float", "index: int32"}, {"y: float"}, {"row_axes: int >= 1"}, gatherRowsCompute, rowsCreate, rowsDestroy},
  };
}

}  // namespace sliceseq
