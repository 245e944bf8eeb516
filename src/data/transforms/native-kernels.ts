import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * sliceseq's native preprocessing kernels (native/kernels: C++ against Debian's OpenCV, built by `npm run native`
 * where libopencv-imgproc-dev is installed). Each computes exactly what its JavaScript (or OpenCV WebAssembly)
 * twin in window.ts, clahe.ts and resize.ts computes (test/data/native-kernels.test.ts compares them value for
 * value), so a slice has the same bytes with or without them; they only make it faster. Every typed array is
 * read or written in place; sizes are checked by the module, which throws a TypeError naming the argument.
 */
export interface NativeKernels {
  /** Version of the OpenCV library the module runs against. */
  readonly opencvVersion: string;
  /** out[i × count + w] = clamp((hu[i] − lows[w]) / widths[w], 0, 1), computed in double, stored as float. */
  window(hu: Float32Array, pixels: number, lows: Float64Array, widths: Float64Array, count: number, out: Float32Array): void;
  /**
   * Per channel: [0, 1] values → 8-bit codes (float product × 255, half to even) → cv::CLAHE → k / 255 into
   * `out`. Returns −1, or the index into `data` of the first value outside [0, 1] (then `out` is not written).
   */
  clahe(data: Float32Array, rows: number, cols: number, channels: number, clipLimit: number, tilesAcross: number, tilesDown: number, out: Float32Array): number;
  /** cv::resize on float32, channels last, into `out` (outRows × outCols × channels). */
  resize(src: Float32Array, rows: number, cols: number, channels: number, outRows: number, outCols: number, interpolation: number, out: Float32Array): void;
}

/** Where node-gyp puts the module (native/kernels/build, ignored by git). */
export const NATIVE_KERNELS_PATH = fileURLToPath(new URL('../../../native/kernels/build/Release/sliceseq_kernels.node', import.meta.url));

let loaded: { kernels: NativeKernels | undefined } | undefined;

/**
 * The native kernels, loaded once per thread; undefined where they are not built, or with
 * SLICESEQ_NATIVE_KERNELS=0 (the JavaScript and WebAssembly paths then run, giving the same bytes). A module that
 * is there but does not load (built for another Node, its OpenCV removed) is an error saying how to rebuild it.
 */
export function nativeKernels(): NativeKernels | undefined {
  loaded ??= { kernels: process.env.SLICESEQ_NATIVE_KERNELS === '0' || !existsSync(NATIVE_KERNELS_PATH) ? undefined : load() };
  return loaded.kernels;
}

function load(): NativeKernels {
  try {
    return createRequire(import.meta.url)(NATIVE_KERNELS_PATH) as NativeKernels;
  } catch (error) {
    throw new Error(
      `the native preprocessing kernels at ${NATIVE_KERNELS_PATH} do not load (${(error as Error).message}); ` +
        'rebuild them with `npm run native -- --force`, or set SLICESEQ_NATIVE_KERNELS=0 to preprocess without them',
      { cause: error },
    );
  }
}
