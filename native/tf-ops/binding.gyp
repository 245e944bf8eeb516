# sliceseq's TensorFlow ops (ops.cc and one file per op family), built by `npm run native` (scripts/native-setup.ts)
# against the TensorFlow C library it installs into tfjs-node: TF_DEPS_DIR is @tensorflow/tfjs-node/deps, with the
# wheel's C headers in include/ and libtensorflow_framework.so.2 in lib/ (the copy tfjs-node's binding loads first).
# -ffp-contract=off: no fused multiply-adds, so each value is rounded where TensorFlow's own ops round it;
# -fno-math-errno lets sqrt vectorise (it sets no errno; the values are the same).
{
  "targets": [
    {
      "target_name": "sliceseq_tf_ops",
      "sources": ["ops.cc", "tf_op.cc", "flat_optimizers.cc", "gru.cc", "asymmetric_loss.cc", "dense.cc", "rows.cc"],
      "include_dirs": ["<!(echo ${TF_DEPS_DIR}/include)"],
      "libraries": ["-L<!(echo ${TF_DEPS_DIR}/lib)", "-l:libtensorflow_framework.so.2", "-Wl,-rpath,<!(echo ${TF_DEPS_DIR}/lib)"],
      "cflags_cc": ["-O3", "-ffp-contract=off", "-fno-math-errno", "-std=c++17", "-fexceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
