// sliceseq's TensorFlow ops, registered with the process's TensorFlow when Node loads this module (after
// tfjs-node, whose libtensorflow_framework.so.2 it shares). One file per op family; src/backend/custom-ops.ts loads
// the module and the fused kernels (src/backend/*.ts) run the ops by name through tfjs-node's binding.
// The module exports `ops`, the names registered, and `error`, TensorFlow's reason if registration failed.
#include <node_api.h>

#include <string>
#include <vector>

#include "tf_op.h"

namespace sliceseq {
std::vector<OpSpec> flatOptimizerOps();
std::vector<OpSpec> gruOps();
std::vector<OpSpec> asymmetricLossOps();
std::vector<OpSpec> denseOps();
std::vector<OpSpec> rowsOps();
}

namespace {

struct Registration {
  std::vector<std::string> names;
  std::string error;
};

// Once per process: the registries are global, and a second registration of a name is an error.
const Registration &registration() {
  static const Registration done = [] {
    Registration result;
    std::vector<std::vector<sliceseq::OpSpec>> families = {sliceseq::flatOptimizerOps(), sliceseq::gruOps(), sliceseq::asymmetricLossOps(), sliceseq::denseOps(), sliceseq::rowsOps()};
    for (const auto &family : families) {
      for (const auto &spec : family) {
        std::string error = sliceseq::registerOp(spec);
        if (!error.empty()) {
          result.error = error;
          return result;
        }
        result.names.push_back(spec.name);
      }
    }
    return result;
  }();
  return done;
}

napi_value init(napi_env env, napi_value exports) {
  const Registration &done = registration();
  napi_value names;
  napi_create_array_with_length(env, done.names.size(), &names);
  for (size_t i = 0; i < done.names.size(); i++) {
    napi_value name;
    napi_create_string_utf8(env, done.names[i].c_str(), NAPI_AUTO_LENGTH, &name);
    napi_set_element(env, names, i, name);
  }
  napi_set_named_property(env, exports, "ops", names);
  napi_value error;
  if (done.error.empty()) {
    napi_get_null(env, &error);
  } else {
    napi_create_string_utf8(env, done.error.c_str(), NAPI_AUTO_LENGTH, &error);
  }
  napi_set_named_property(env, exports, "error", error);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
