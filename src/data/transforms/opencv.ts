import { createRequire } from 'node:module';

/** The part of OpenCV's WebAssembly build (@techstark/opencv-js) that the transforms use. */
export interface OpenCvMat {
  readonly rows: number;
  readonly cols: number;
  /** Views of the wasm heap: take them afresh after any OpenCV call, since the heap may have grown. */
  readonly data: Uint8Array;
  readonly data32F: Float32Array;
  type(): number;
  delete(): void;
}

export interface OpenCvClahe {
  apply(src: OpenCvMat, dst: OpenCvMat): void;
  delete(): void;
}

export interface OpenCv {
  CV_8UC1: number;
  INTER_NEAREST: number;
  INTER_LINEAR: number;
  INTER_CUBIC: number;
  INTER_AREA: number;
  INTER_LANCZOS4: number;
  Mat: new (rows?: number, cols?: number, type?: number) => OpenCvMat;
  Size: new (width: number, height: number) => unknown;
  CLAHE: new (clipLimit: number, tileGridSize: unknown) => OpenCvClahe;
  resize(src: OpenCvMat, dst: OpenCvMat, size: unknown, fx: number, fy: number, interpolation: number): void;
  onRuntimeInitialized?: () => void;
}

/** OpenCV's type code for float32 with `channels` interleaved channels (CV_MAKETYPE(CV_32F, channels)). */
export function float32Type(channels: number): number {
  const CV_32F = 5;
  return CV_32F + ((channels - 1) << 3);
}

/**
 * `mat` when it already has this shape and type, else a new Mat in its place (the old one freed). Transforms keep
 * their Mats between calls: making and freeing one costs as much as a small CLAHE.
 */
export function matOfShape(cv: OpenCv, mat: OpenCvMat | undefined, rows: number, cols: number, type: number): OpenCvMat {
  if (mat && mat.rows === rows && mat.cols === cols && mat.type() === type) return mat;
  mat?.delete();
  return new cv.Mat(rows, cols, type);
}

let loading: Promise<OpenCv> | undefined;

/**
 * OpenCV compiled to WebAssembly, loaded once per thread on first use (about 0.3 s on an idle core). The module
 * is an Emscripten thenable that resolves to itself, so it is never awaited directly: its runtime signals
 * readiness through onRuntimeInitialized.
 */
export function loadOpenCv(): Promise<OpenCv> {
  loading ??= new Promise<OpenCv>((resolve, reject) => {
    try {
      const cv = createRequire(import.meta.url)('@techstark/opencv-js') as OpenCv;
      if (typeof cv.Mat === 'function') resolve(withoutThen(cv));
      else cv.onRuntimeInitialized = () => resolve(withoutThen(cv));
    } catch (error) {
      reject(new Error(`could not load OpenCV (@techstark/opencv-js): ${(error as Error).message}`, { cause: error }));
    }
  });
  return loading;
}

/** A plain object view of the module, so resolving a promise with it does not call its `then`. */
function withoutThen(cv: OpenCv): OpenCv {
  const { CV_8UC1, INTER_NEAREST, INTER_LINEAR, INTER_CUBIC, INTER_AREA, INTER_LANCZOS4, Mat, Size, CLAHE, resize } = cv;
  return { CV_8UC1, INTER_NEAREST, INTER_LINEAR, INTER_CUBIC, INTER_AREA, INTER_LANCZOS4, Mat, Size, CLAHE, resize };
}
