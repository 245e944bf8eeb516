import { z } from 'zod';
import type { Slice } from '../types.ts';
import { nativeKernels, type NativeKernels } from './native-kernels.ts';
import { float32Type, loadOpenCv, matOfShape, type OpenCv, type OpenCvMat } from './opencv.ts';
import { mapChannelsWithSharp } from './sharp-channels.ts';
import { deterministic, transforms, withData } from './transform.ts';
import { resizeNearest } from './warp.ts';

/** Kernels run by OpenCV's cv::resize on float32, as cv2.resize(image, (cols, rows), interpolation=cv2.INTER_*). */
const openCvKernels = { nearest: 'INTER_NEAREST', linear: 'INTER_LINEAR', cubic: 'INTER_CUBIC', area: 'INTER_AREA', lanczos4: 'INTER_LANCZOS4' } as const;
/** Kernels only libvips has, run through sharp at 16 bits per channel. */
const sharpKernels = ['mitchell', 'lanczos2', 'lanczos3'] as const;
type OpenCvKernel = keyof typeof openCvKernels;
type SharpKernel = (typeof sharpKernels)[number];
const kernels = [...(Object.keys(openCvKernels) as OpenCvKernel[]), ...sharpKernels] as const;
const isOpenCvKernel = (kernel: OpenCvKernel | SharpKernel): kernel is OpenCvKernel => kernel in openCvKernels;

/** `size` is one number (square) or [rows, cols]. */
export const sizeSchema = z.union([
  z.number().int().positive(),
  z.tuple([z.number().int().positive(), z.number().int().positive()]),
]);

/**
 * The kernels the native module (native-kernels.ts, Debian's OpenCV) runs with the same bytes as OpenCV's
 * WebAssembly build, by their cv::InterpolationFlags value. Cubic and lanczos4 differ between the two by up to
 * 3.6e-7 (vectorised natively, not in WebAssembly), so they stay on WebAssembly: a slice's bytes do not depend on
 * whether the native kernels are built.
 */
const sameOnNative: Partial<Record<OpenCvKernel, number>> = { nearest: 0, linear: 1, area: 3 };

/**
 * cv::resize on the float32 slice, all channels at once, exactly as cv2.resize does on a float32 array in
 * Python: no quantisation, and no clipping of a kernel's overshoot. By the native kernel where it is built and
 * gives the same bytes (`kernels`, default nativeKernels(); null: always WebAssembly), else by OpenCV's WebAssembly
 * build, whose input and output Mats one instance keeps between calls (see matOfShape; calls are synchronous once
 * OpenCV has loaded).
 */
export class OpenCvResizer {
  private cv: OpenCv | undefined;
  private src: OpenCvMat | undefined;
  private dst: OpenCvMat | undefined;

  private readonly native: NativeKernels | null;

  constructor(
    readonly rows: number,
    readonly cols: number,
    readonly kernel: OpenCvKernel,
    kernels: NativeKernels | null = nativeKernels() ?? null,
  ) {
    this.native = sameOnNative[kernel] === undefined ? null : kernels;
  }

  async apply(slice: Slice): Promise<Slice> {
    if (!this.native && !this.cv) this.cv = await loadOpenCv();
    const { channels, data } = slice;
    // cv::resize takes at most 4 interleaved channels; more go one at a time (channels never mix).
    if (channels <= 4) return withData(slice, this.run(data, slice.rows, slice.cols, channels), this.rows, this.cols, channels);
    const pixels = slice.rows * slice.cols;
    const plane = new Float32Array(pixels);
    const out = new Float32Array(this.rows * this.cols * channels);
    for (let channel = 0; channel < channels; channel++) {
      for (let i = 0, j = channel; i < pixels; i++, j += channels) plane[i] = data[j];
      const resized = this.run(plane, slice.rows, slice.cols, 1);
      for (let i = 0, j = channel; i < resized.length; i++, j += channels) out[j] = resized[i];
    }
    return withData(slice, out, this.rows, this.cols, channels);
  }

  private run(data: Float32Array, rows: number, cols: number, channels: number): Float32Array {
    if (this.native) {
      const out = new Float32Array(this.rows * this.cols * channels);
      this.native.resize(data, rows, cols, channels, this.rows, this.cols, sameOnNative[this.kernel]!, out);
      return out;
    }
    const cv = this.cv!;
    this.src = matOfShape(cv, this.src, rows, cols, float32Type(channels));
    this.dst ??= new cv.Mat();
    this.src.data32F.set(data);
    cv.resize(this.src, this.dst, new cv.Size(this.cols, this.rows), 0, 0, cv[openCvKernels[this.kernel]]);
    return this.dst.data32F.slice();
  }
}

/** Resizes every channel to rows × cols (aspect ratio not kept: slices of a series share a grid). */
transforms.register({
  name: 'resize',
  description:
    "resize to size (number or [rows, cols]; default 224); kernel nearest|linear|cubic|area|lanczos4 by OpenCV's cv::resize on float32 (as cv2.resize, INTER_*), mitchell|lanczos2|lanczos3 by sharp at 16 bits",
  schema: z.object({
    size: sizeSchema.default(224),
    kernel: z.enum(kernels).default('linear'),
  }),
  create: ({ size, kernel }) => {
    const [rows, cols] = typeof size === 'number' ? [size, size] : size;
    let resize: (slice: Slice) => Promise<Slice>;
    if (isOpenCvKernel(kernel)) {
      const resizer = new OpenCvResizer(rows, cols, kernel);
      resize = (slice) => resizer.apply(slice);
    } else {
      resize = (slice) => mapChannelsWithSharp(slice, 16, 'resize', (image) => image.resize(cols, rows, { fit: 'fill', kernel }));
    }
    const transform = deterministic('resize', async (slice) => (slice.rows === rows && slice.cols === cols ? slice : resize(slice)));
    return { ...transform, moveMask: (mask: Slice) => resizeNearest(mask, rows, cols) };
  },
});
