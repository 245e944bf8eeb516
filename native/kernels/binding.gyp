# sliceseq's preprocessing kernels (kernels.cc), built by `npm run native` (scripts/native-setup.ts, step 6)
# against Debian's OpenCV (libopencv-imgproc-dev; OPENCV_INCLUDE_DIR names another include folder).
# -ffp-contract=off: no fused multiply-adds, so each value is computed as its JavaScript twin computes it;
# -fno-trapping-math lets the compiler vectorise the branches of the window and range checks (no effect on results).
{
  "targets": [
    {
      "target_name": "sliceseq_kernels",
      "sources": ["kernels.cc"],
      "include_dirs": ["<!(echo ${OPENCV_INCLUDE_DIR:-/usr/include/opencv4})"],
      "libraries": ["-lopencv_imgproc", "-lopencv_core"],
      "cflags_cc": ["-O3", "-ffp-contract=off", "-fno-trapping-math", "-std=c++17", "-fexceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
