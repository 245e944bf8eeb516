import { createRequire } from 'node:module';

/** The part of OpenCV's WebAssembly build (@techstark/opencv-js) that the transforms use. */
export interface OpenCvMat {
  readonly data: Uint8Array;
  delete(): void;
}

export interface OpenCvClahe {
  apply(src: OpenCvMat, dst: OpenCvMat): void;
  delete(): void;
}

export interface OpenCv {
  CV_8UC1: number;
  Mat: new (rows?: number, cols?: number, type?: number) => OpenCvMat;
  Size: new (width: number, height: number) => unknown;
  CLAHE: new (clipLimit: number, tileGridSize: unknown) => OpenCvClahe;
  onRuntimeInitialized?: () => void;
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
  return { CV_8UC1: cv.CV_8UC1, Mat: cv.Mat, Size: cv.Size, CLAHE: cv.CLAHE };
}
