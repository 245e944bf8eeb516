#include "tf_op.h"

namespace sliceseq {

void fail(TF_OpKernelContext *ctx, const std::string &message) {
  TF_Status *status = TF_NewStatus();
  TF_SetStatus(status, TF_INVALID_ARGUMENT, message.c_str());
  TF_OpKernelContext_Failure(ctx, status);
  TF_DeleteStatus(status);
}

Input::Input(TF_OpKernelContext *ctx, int index, TF_DataType type) {
  TF_Status *status = TF_NewStatus();
  TF_Tensor *tensor = nullptr;
  TF_GetInput(ctx, index, &tensor, status);
  const bool got = TF_GetCode(status) == TF_OK;
  TF_DeleteStatus(status);
  if (!got) {
    fail(ctx, "input " + std::to_string(index) + " is missing");
    return;
  }
  if (TF_TensorType(tensor) != type) {
    TF_DeleteTensor(tensor);
    fail(ctx, "input " + std::to_string(index) + (type == TF_INT32 ? " is not int32" : " is not float32"));
    return;
  }
  tensor_ = tensor;
  data_ = TF_TensorData(tensor);
  rank_ = TF_NumDims(tensor);
  size_ = TF_TensorElementCount(tensor);
}

Input::~Input() {
  if (tensor_) TF_DeleteTensor(tensor_);
}

Input::Input(Input &&other) noexcept : tensor_(other.tensor_), data_(other.data_), rank_(other.rank_), size_(other.size_) {
  other.tensor_ = nullptr;
}

int64_t Input::dim(int i) const { return TF_Dim(tensor_, i); }

std::vector<int64_t> Input::dims() const {
  std::vector<int64_t> out(rank_);
  for (int i = 0; i < rank_; i++) out[i] = TF_Dim(tensor_, i);
  return out;
}

Output::Output(TF_OpKernelContext *ctx, int index, const std::vector<int64_t> &dims) {
  int64_t count = 1;
  for (int64_t d : dims) count *= d;
  TF_Status *status = TF_NewStatus();
  TF_Tensor *tensor = TF_AllocateOutput(ctx, index, TF_FLOAT, dims.data(), static_cast<int>(dims.size()), count * sizeof(float), status);
  const bool got = TF_GetCode(status) == TF_OK;
  if (!got) TF_OpKernelContext_Failure(ctx, status);
  TF_DeleteStatus(status);
  if (!got) return;
  tensor_ = tensor;
  data_ = static_cast<float *>(TF_TensorData(tensor));
}

Output::~Output() {
  if (tensor_) TF_DeleteTensor(tensor_);
}

Output::Output(Output &&other) noexcept : tensor_(other.tensor_), data_(other.data_) { other.tensor_ = nullptr; }

Attrs::Attrs(TF_OpKernelConstruction *construction) : construction_(construction), status_(TF_NewStatus()) {}

Attrs::~Attrs() {
  if (TF_GetCode(status_) != TF_OK) TF_OpKernelConstruction_Failure(construction_, status_);
  TF_DeleteStatus(status_);
}

bool Attrs::boolean(const char *name) {
  TF_Bool value = 0;
  if (TF_GetCode(status_) == TF_OK) TF_OpKernelConstruction_GetAttrBool(construction_, name, &value, status_);
  return value != 0;
}

float Attrs::real(const char *name) {
  float value = 0;
  if (TF_GetCode(status_) == TF_OK) TF_OpKernelConstruction_GetAttrFloat(construction_, name, &value, status_);
  return value;
}

int64_t Attrs::integer(const char *name) {
  int64_t value = 0;
  if (TF_GetCode(status_) == TF_OK) TF_OpKernelConstruction_GetAttrInt64(construction_, name, &value, status_);
  return value;
}

std::vector<int64_t> Attrs::integers(const char *name) {
  int32_t count = 0, total = 0;
  if (TF_GetCode(status_) == TF_OK) TF_OpKernelConstruction_GetAttrSize(construction_, name, &count, &total, status_);
  std::vector<int64_t> values(TF_GetCode(status_) == TF_OK && count > 0 ? count : 0);
  if (!values.empty()) TF_OpKernelConstruction_GetAttrInt64List(construction_, name, values.data(), count, status_);
  if (TF_GetCode(status_) != TF_OK) values.clear();
  return values;
}

namespace {
void *noState(TF_OpKernelConstruction *) { return nullptr; }
void noDestroy(void *) {}
}  // namespace

std::string registerOp(const OpSpec &spec) {
  TF_OpDefinitionBuilder *op = TF_NewOpDefinitionBuilder(spec.name);
  for (const char *input : spec.inputs) TF_OpDefinitionBuilderAddInput(op, input);
  for (const char *output : spec.outputs) TF_OpDefinitionBuilderAddOutput(op, output);
  for (const char *attr : spec.attrs) TF_OpDefinitionBuilderAddAttr(op, attr);
  TF_Status *status = TF_NewStatus();
  TF_RegisterOpDefinition(op, status);
  std::string error;
  if (TF_GetCode(status) == TF_OK) {
    TF_KernelBuilder *kernel = TF_NewKernelBuilder(spec.name, "CPU", spec.create ? spec.create : noState, spec.compute, spec.destroy ? spec.destroy : noDestroy);
    TF_RegisterKernelBuilder(spec.name, kernel, status);
  }
  if (TF_GetCode(status) != TF_OK) error = std::string(spec.name) + ": " + TF_Message(status);
  TF_DeleteStatus(status);
  return error;
}

}  // namespace sliceseq
