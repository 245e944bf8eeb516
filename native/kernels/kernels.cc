// sliceseq's native preprocessing kernels: the loops of window.ts, clahe.ts and resize.ts that JavaScript runs
// one value at a time, compiled (so the compiler vectorises them), and OpenCV's CLAHE and resize from Debian's
// build instead of its WebAssembly one. Each kernel computes the same values as its JavaScript or WebAssembly twin
// (test/data/native-kernels.test.ts compares them), so a run gives the same bytes with or without this module.
#include <node_api.h>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>
#include <cstdint>
#include <string>

namespace {

// k / 255 for every 8-bit code k, as float (clahe.ts UNIT_STEPS).
const struct Steps {
  float value[256];
  Steps() {
    for (int k = 0; k < 256; k++) value[k] = static_cast<float>(k / 255.0);
  }
} kSteps;

// Adding, then taking away, 1.5 × 2^23 rounds a float below 2^22 in size to an integer, half to even.
constexpr float kRound = 12582912.0f;

// [0, 1] up to float error, as clahe.ts accepts it.
inline bool inUnitRange(float value) {
  const double widened = value;
  return (widened >= -1e-6) & (widened <= 1 + 1e-6);  // & rather than &&: no branch, so the check vectorises
}

// N-API plumbing: one helper per argument kind; a wrong argument throws a TypeError naming it.
struct Call {
  napi_env env;
  napi_value args[10];
  size_t count = 10;
  bool failed = false;

  Call(napi_env env, napi_callback_info info) : env(env) { napi_get_cb_info(env, info, &count, args, nullptr, nullptr); }

  void fail(const std::string &what) {
    if (!failed) napi_throw_type_error(env, nullptr, what.c_str());
    failed = true;
  }

  template <typename T>
  T *array(size_t index, napi_typedarray_type type, size_t length, const char *name) {
    napi_typedarray_type actual;
    size_t actualLength = 0;
    void *data = nullptr;
    if (index >= count || napi_get_typedarray_info(env, args[index], &actual, &actualLength, &data, nullptr, nullptr) != napi_ok ||
        actual != type || actualLength < length) {
      fail(std::string(name) + ": expected a typed array of the right type holding at least " + std::to_string(length) + " values");
      return nullptr;
    }
    return static_cast<T *>(data);
  }

  double number(size_t index, const char *name) {
    double value = 0;
    if (index >= count || napi_get_value_double(env, args[index], &value) != napi_ok) fail(std::string(name) + ": expected a number");
    return value;
  }

  int integer(size_t index, const char *name) {
    double value = number(index, name);
    if (!failed && (value != std::floor(value) || value < 0 || value > 1 << 30)) fail(std::string(name) + ": expected a whole number >= 0");
    return static_cast<int>(value);
  }

  napi_value result(double value) {
    napi_value out;
    napi_create_double(env, value, &out);
    return out;
  }
};

// window(hu, pixels, lows, widths, count, out): out[i * count + w] = clamp((hu[i] - lows[w]) / widths[w], 0, 1),
// in double as window.ts computes it, stored as float.
napi_value Window(napi_env env, napi_callback_info info) {
  Call call(env, info);
  const int pixels = call.integer(1, "pixels");
  const int count = call.integer(4, "count");
  if (call.failed) return nullptr;
  const float *hu = call.array<float>(0, napi_float32_array, pixels, "hu");
  const double *lows = call.array<double>(2, napi_float64_array, count, "lows");
  const double *widths = call.array<double>(3, napi_float64_array, count, "widths");
  float *out = call.array<float>(5, napi_float32_array, static_cast<size_t>(pixels) * count, "out");
  if (call.failed) return nullptr;
  for (int w = 0; w < count; w++) {
    const double low = lows[w], width = widths[w];
    float *column = out + w;
    for (int i = 0; i < pixels; i++) {
      const double scaled = (static_cast<double>(hu[i]) - low) / width;
      column[static_cast<size_t>(i) * count] = static_cast<float>(scaled <= 0 ? 0.0 : scaled >= 1 ? 1.0 : scaled);
    }
  }
  return nullptr;
}

// clahe(data, rows, cols, channels, clipLimit, tilesAcross, tilesDown, out): per channel, [0, 1] values to 8-bit
// codes as np.round(x * 255) gives them (float product, half to even), cv::CLAHE, and back in steps of 1/255.
// Returns -1, or the index into data of the first value outside [0, 1] (beyond float error), leaving out unwritten.
napi_value Clahe(napi_env env, napi_callback_info info) {
  Call call(env, info);
  const int rows = call.integer(1, "rows");
  const int cols = call.integer(2, "cols");
  const int channels = call.integer(3, "channels");
  const double clipLimit = call.number(4, "clipLimit");
  const int across = call.integer(5, "tilesAcross");
  const int down = call.integer(6, "tilesDown");
  if (call.failed) return nullptr;
  const size_t pixels = static_cast<size_t>(rows) * cols;
  const float *data = call.array<float>(0, napi_float32_array, pixels * channels, "data");
  float *out = call.array<float>(7, napi_float32_array, pixels * channels, "out");
  if (call.failed) return nullptr;
  // A branch-free pass first (it vectorises); only a bad slice looks for its first bad value.
  const size_t values = pixels * channels;
  bool bad = false;
  for (size_t i = 0; i < values; i++) bad |= !inUnitRange(data[i]);
  if (bad) {
    for (size_t i = 0; i < values; i++) {
      if (!inUnitRange(data[i])) return call.result(static_cast<double>(i));
    }
  }
  try {
    // One cv::CLAHE and its buffers per thread, kept between calls (remade when the parameters change).
    static thread_local cv::Ptr<cv::CLAHE> clahe;
    static thread_local cv::Mat codes, equalised;
    if (!clahe || clahe->getClipLimit() != clipLimit || clahe->getTilesGridSize() != cv::Size(across, down)) {
      clahe = cv::createCLAHE(clipLimit, cv::Size(across, down));
    }
    codes.create(rows, cols, CV_8UC1);
    for (int channel = 0; channel < channels; channel++) {
      uint8_t *code = codes.ptr<uint8_t>();
      for (size_t i = 0, j = channel; i < pixels; i++, j += channels) {
        code[i] = static_cast<uint8_t>(static_cast<int>((data[j] * 255.0f + kRound) - kRound));
      }
      clahe->apply(codes, equalised);
      const uint8_t *result = equalised.ptr<uint8_t>();
      for (size_t i = 0, j = channel; i < pixels; i++, j += channels) out[j] = kSteps.value[result[i]];
    }
  } catch (const cv::Exception &error) {
    napi_throw_error(env, nullptr, error.what());
    return nullptr;
  }
  return call.result(-1);
}

// resize(src, rows, cols, channels, outRows, outCols, interpolation, out): cv::resize on float32, channels last.
napi_value Resize(napi_env env, napi_callback_info info) {
  Call call(env, info);
  const int rows = call.integer(1, "rows");
  const int cols = call.integer(2, "cols");
  const int channels = call.integer(3, "channels");
  const int outRows = call.integer(4, "outRows");
  const int outCols = call.integer(5, "outCols");
  const int interpolation = call.integer(6, "interpolation");
  if (call.failed) return nullptr;
  if (channels < 1 || channels > CV_CN_MAX) {
    call.fail("channels: expected 1 to " + std::to_string(CV_CN_MAX));
    return nullptr;
  }
  float *src = call.array<float>(0, napi_float32_array, static_cast<size_t>(rows) * cols * channels, "src");
  float *out = call.array<float>(7, napi_float32_array, static_cast<size_t>(outRows) * outCols * channels, "out");
  if (call.failed) return nullptr;
  try {
    const cv::Mat from(rows, cols, CV_32FC(channels), src);
    cv::Mat to(outRows, outCols, CV_32FC(channels), out);
    cv::resize(from, to, to.size(), 0, 0, interpolation);
    if (to.data != reinterpret_cast<uchar *>(out)) throw cv::Exception(0, "resize reallocated its output", "Resize", __FILE__, __LINE__);
  } catch (const cv::Exception &error) {
    napi_throw_error(env, nullptr, error.what());
  }
  return nullptr;
}

napi_value Init(napi_env env, napi_value exports) {
  cv::setNumThreads(1);  // one decode worker is one thread, as in the Python twin
  const napi_property_descriptor properties[] = {
      {"window", nullptr, Window, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"clahe", nullptr, Clahe, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"resize", nullptr, Resize, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(properties) / sizeof(properties[0]), properties);
  napi_value version;
  napi_create_string_utf8(env, CV_VERSION, NAPI_AUTO_LENGTH, &version);
  napi_set_named_property(env, exports, "opencvVersion", version);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
