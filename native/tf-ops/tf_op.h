// What every sliceseq TensorFlow op shares: reading an input, allocating an output, failing with a message, and
// registering an op with its CPU kernel through TensorFlow's C API (tensorflow/c/ops.h, tensorflow/c/kernels.h).
// The registries are the process's own, so tfjs-node's binding runs these ops by name like any TensorFlow op.
#pragma once

#include <tensorflow/c/kernels.h>
#include <tensorflow/c/ops.h>
#include <tensorflow/c/tf_status.h>
#include <tensorflow/c/tf_tensor.h>

#include <cstdint>
#include <string>
#include <vector>

// A function compiled twice, for AVX2 and for plain x86-64, the CPU's copy chosen when the module loads (GCC's
// target_clones); with -ffp-contract=off both give the same numbers. For the loops of products.
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define SLICESEQ_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define SLICESEQ_VECTOR_CLONES
#endif

namespace sliceseq {

// Marks the call failed with `message` (an InvalidArgument error that TFE_Execute hands to JavaScript).
void fail(TF_OpKernelContext *ctx, const std::string &message);

// One input of a call (released with this object), float32 unless `type` says otherwise. A missing input, or one
// of another type, fails the call: check ok().
class Input {
 public:
  Input(TF_OpKernelContext *ctx, int index, TF_DataType type = TF_FLOAT);
  ~Input();
  Input(const Input &) = delete;
  Input &operator=(const Input &) = delete;
  Input(Input &&other) noexcept;

  bool ok() const { return tensor_ != nullptr; }
  const float *data() const { return static_cast<const float *>(data_); }
  // An int32 input's values.
  const int32_t *ints() const { return static_cast<const int32_t *>(data_); }
  int rank() const { return rank_; }
  int64_t dim(int i) const;
  int64_t size() const { return size_; }
  std::vector<int64_t> dims() const;

 private:
  TF_Tensor *tensor_ = nullptr;
  const void *data_ = nullptr;
  int rank_ = 0;
  int64_t size_ = 0;
};

// One float32 output of a call, allocated by TensorFlow with `dims` (released with this object). Check ok().
class Output {
 public:
  Output(TF_OpKernelContext *ctx, int index, const std::vector<int64_t> &dims);
  ~Output();
  Output(const Output &) = delete;
  Output &operator=(const Output &) = delete;
  Output(Output &&other) noexcept;

  bool ok() const { return tensor_ != nullptr; }
  float *data() { return data_; }

 private:
  TF_Tensor *tensor_ = nullptr;
  float *data_ = nullptr;
};

// Reads a kernel's attributes when TensorFlow constructs it; the first one missing or of another type fails the
// construction (once, when the reader goes).
class Attrs {
 public:
  explicit Attrs(TF_OpKernelConstruction *construction);
  ~Attrs();
  Attrs(const Attrs &) = delete;
  Attrs &operator=(const Attrs &) = delete;

  bool boolean(const char *name);
  float real(const char *name);
  int64_t integer(const char *name);
  std::vector<int64_t> integers(const char *name);

 private:
  TF_OpKernelConstruction *construction_;
  TF_Status *status_;
};

// The `destroy` of an OpSpec whose `create` returns a new T.
template <typename T>
void destroy(void *kernel) {
  delete static_cast<T *>(kernel);
}

// An op and its CPU kernel. `inputs`, `outputs` and `attrs` use TensorFlow's op-definition syntax ("x: float",
// "g: N * float", "N: int >= 1", "reverse: bool"). `create` reads the attrs once per kernel instance (TensorFlow
// caches one per attr values); nullptr when the op has none.
struct OpSpec {
  const char *name;
  std::vector<const char *> inputs;
  std::vector<const char *> outputs;
  std::vector<const char *> attrs;
  void (*compute)(void *kernel, TF_OpKernelContext *ctx);
  void *(*create)(TF_OpKernelConstruction *construction) = nullptr;
  void (*destroy)(void *kernel) = nullptr;
};

// Registers the op and its CPU kernel; an empty string, or TensorFlow's reason for refusing.
std::string registerOp(const OpSpec &spec);

}  // namespace sliceseq
