import * as tf from '@tensorflow/tfjs';
import { gradientKernelArgs, type KernelArgs } from './kernel-args.ts';

/** The parts of the wasm backend this kernel uses: outputs it allocates and views of tensors in its heap. */
interface WasmHeap {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): tf.backend_util.TypedArray;
}

/**
 * Replaces the wasm package's MaxPoolGrad, a C++ loop about 3× slower than this single pass on the benchmark's
 * pools, which also routes a tied window's gradient to a different element than the cpu backend does. Each
 * window's gradient goes to its first maximum in row-major order (the cpu backend's rule) and is added there,
 * so overlapping windows and padding work too. Reads and writes the wasm heap directly: no copies.
 */
export function maxPoolGradWasm(args: KernelArgs): tf.TensorInfo {
  const name = tf.MaxPoolGrad;
  const { inputs: [dy, input], attrs } = gradientKernelArgs<tf.MaxPoolGradAttrs>(name, args, ['dy', 'input']);
  const backend = args.backend as WasmHeap;
  const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
  const dx = backend.makeOutput(input.shape, 'float32');
  // Views are taken after the allocation above, which may grow (and so move) the heap.
  const xs = backend.typedArrayFromHeap(input) as Float32Array;
  const dys = backend.typedArrayFromHeap(dy) as Float32Array;
  const out = backend.typedArrayFromHeap(dx) as Float32Array;
  scatterToFirstMaxima(xs, dys, out, info);
  return dx;
}

function scatterToFirstMaxima(xs: Float32Array, dys: Float32Array, dx: Float32Array, info: tf.backend_util.Conv2DInfo): void {
  const { batchSize, inHeight, inWidth, inChannels: channels, outHeight, outWidth, strideHeight, strideWidth, effectiveFilterHeight, effectiveFilterWidth } = info;
  const { top, left } = info.padInfo;
  dx.fill(0);
  for (let b = 0; b < batchSize; b++) {
    for (let i = 0; i < outHeight; i++) {
      const rowStart = Math.max(0, i * strideHeight - top);
      const rowEnd = Math.min(inHeight, i * strideHeight - top + effectiveFilterHeight);
      for (let j = 0; j < outWidth; j++) {
        const colStart = Math.max(0, j * strideWidth - left);
        const colEnd = Math.min(inWidth, j * strideWidth - left + effectiveFilterWidth);
        const dyOffset = ((b * outHeight + i) * outWidth + j) * channels;
        for (let c = 0; c < channels; c++) {
          let best = -Infinity;
          let at = -1;
          for (let row = rowStart; row < rowEnd; row++) {
            let p = ((b * inHeight + row) * inWidth + colStart) * channels + c;
            for (let col = colStart; col < colEnd; col++, p += channels) {
              if (xs[p] > best) {
                best = xs[p];
                at = p;
              }
            }
          }
          if (at >= 0) dx[at] += dys[dyOffset + c];
        }
      }
    }
  }
}
