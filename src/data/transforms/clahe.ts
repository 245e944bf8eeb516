import { z } from 'zod';
import type { Slice } from '../types.ts';
import { nativeKernels, type NativeKernels } from './native-kernels.ts';
import { loadOpenCv, matOfShape, type OpenCv, type OpenCvClahe, type OpenCvMat } from './opencv.ts';
import { mapChannelsWithSharp, unitRange } from './sharp-channels.ts';
import { deterministic, transforms, withData } from './transform.ts';

/** Default tile grid of the exact-local variant: an 8 × 8 grid over the slice. */
const DEFAULT_GRID = 8;

const tileGridSchema = z
  .union([z.number().int().positive(), z.tuple([z.number().int().positive(), z.number().int().positive()])])
  .default([8, 8]);

/** k / 255 for every 8-bit code k, as float32. */
export const UNIT_STEPS = Float32Array.from({ length: 256 }, (_, k) => k / 255);

/** Adding, then taking away, 1.5 × 2^52 rounds a double below 2^51 in size to an integer, half to even. */
const ROUND_HALF_EVEN = 1.5 * 2 ** 52;

/**
 * One channel's [0, 1] values as 8-bit codes into `out`, as `np.round(x * 255)` computes them on float32 data:
 * the product rounded to float32, then to an integer half to even (by ROUND_HALF_EVEN: 2.6 times faster than
 * storing into a Uint8ClampedArray, which rounds the same way); a value outside [0, 1] (beyond float error) is an
 * error naming the file, as for every 8-bit step.
 */
function quantiseChannel(slice: Slice, channel: number, out: Uint8Array): void {
  const { channels, data } = slice;
  const pixels = slice.rows * slice.cols;
  for (let i = 0, j = channel; i < pixels; i++, j += channels) {
    const value = data[j];
    if (!(value >= -1e-6 && value <= 1 + 1e-6)) unitRange(slice, channel, 'clahe'); // throws, naming the file
    out[i] = Math.fround(value * 255) + ROUND_HALF_EVEN - ROUND_HALF_EVEN;
  }
}

/**
 * CLAHE by OpenCV's own code, per channel: [0, 1] values quantised to 8 bits (half to even, as
 * `np.round(x * 255)`), equalised by cv::CLAHE, and back to 0..1 in steps of 1/255. By the native kernel where it
 * is built (`kernels`, default nativeKernels(): Debian's OpenCV), else by OpenCV's WebAssembly build
 * (@techstark/opencv-js, null): the same bytes either way. One instance holds one cv::CLAHE; calls are synchronous
 * once OpenCV has loaded, so concurrent slices may share it.
 */
export class OpenCvClaheRunner {
  private clahe: OpenCvClahe | undefined;
  private cv: OpenCv | undefined;
  /** Kept between calls (see matOfShape). */
  private src: OpenCvMat | undefined;
  private dst: OpenCvMat | undefined;

  constructor(
    readonly clipLimit: number,
    readonly tileGridSize: readonly [number, number],
    private readonly kernels: NativeKernels | null = nativeKernels() ?? null,
  ) {}

  async apply(slice: Slice): Promise<Slice> {
    const { rows, cols, channels } = slice;
    const pixels = rows * cols;
    const out = new Float32Array(slice.data.length);
    if (pixels === 0) return withData(slice, out);
    if (this.kernels) {
      const [across, down] = this.tileGridSize;
      const bad = this.kernels.clahe(slice.data, rows, cols, channels, this.clipLimit, across, down, out);
      // Out of range somewhere: the lowest such channel throws, naming the file (as the channel loop below would).
      if (bad >= 0) for (let channel = 0; channel < channels; channel++) unitRange(slice, channel, 'clahe');
      return withData(slice, out);
    }
    if (!this.cv) this.cv = await loadOpenCv();
    const cv = this.cv;
    this.clahe ??= new cv.CLAHE(this.clipLimit, new cv.Size(this.tileGridSize[0], this.tileGridSize[1]));
    this.src = matOfShape(cv, this.src, rows, cols, cv.CV_8UC1);
    this.dst ??= new cv.Mat();
    for (let channel = 0; channel < channels; channel++) {
      // `data` views the wasm heap: taken afresh each time, since the heap may have grown.
      quantiseChannel(slice, channel, this.src.data);
      this.clahe.apply(this.src, this.dst);
      const equalised = this.dst.data;
      for (let i = 0, j = channel; i < pixels; i++, j += channels) out[j] = UNIT_STEPS[equalised[i]];
    }
    return withData(slice, out);
  }
}

transforms.register({
  name: 'clahe',
  description:
    "CLAHE per channel by OpenCV's own cv::CLAHE (tile histograms, clip limit, bilinear between tiles; WebAssembly) on [0, 1] data at 8 bits; clipLimit (default 40), tileGridSize [across, down] (default [8, 8]), as in cv2.createCLAHE",
  schema: z.object({
    /** OpenCV's clipLimit: a bin holds at most clipLimit × (tile area / 256) pixels; 0 turns clipping off. */
    clipLimit: z.number().min(0).default(40),
    /** OpenCV's tileGridSize (width, height): tiles across, tiles down; a number means a square grid. */
    tileGridSize: tileGridSchema,
  }),
  create: ({ clipLimit, tileGridSize }) => {
    const runner = new OpenCvClaheRunner(clipLimit, typeof tileGridSize === 'number' ? [tileGridSize, tileGridSize] : tileGridSize);
    return deterministic('clahe', (slice) => runner.apply(slice));
  },
});

/**
 * libvips hist_local through sharp: the histogram of a window around every pixel (no interpolation between
 * tiles), per channel on 8-bit data; slower than `clahe`, kept for pipelines that used it.
 */
transforms.register({
  name: 'clahe-local',
  description: 'CLAHE with a histogram around every pixel (sharp clahe, libvips hist_local) on [0, 1] data; window width/height in pixels (default: slice / 8), maxSlope',
  schema: z.object({
    width: z.number().int().positive().optional(),
    height: z.number().int().positive().optional(),
    /** Contrast limit; 0 is plain adaptive equalisation. */
    maxSlope: z.number().int().min(0).max(100).default(3),
  }),
  create: ({ width, height, maxSlope }) =>
    deterministic('clahe-local', (slice) =>
      mapChannelsWithSharp(slice, 8, 'clahe-local', (image) =>
        image.clahe({
          width: width ?? Math.max(1, Math.ceil(slice.cols / DEFAULT_GRID)),
          height: height ?? Math.max(1, Math.ceil(slice.rows / DEFAULT_GRID)),
          maxSlope,
        }),
      ),
    ),
});
