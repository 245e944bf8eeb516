/**
 * The stock tfjs-node-gpu 4.x install links libtensorflow 2.9.1 built for CUDA 11.2 and cuDNN 8.1 (the CUDA 12 build
 * of `npm run native -- --gpu` carries its own CUDA libraries; gpu-build.ts checks it). When those libraries are
 * missing the stock build quietly computes on the CPU, so we check first: each library is dlopen'ed through Node. A
 * library that loads fails only with "did not self-register" (it is no Node addon); one that cannot load says so.
 */
export const requiredCudaLibraries = ['libcudart.so.11.0', 'libcublas.so.11', 'libcudnn.so.8'] as const;

export interface CudaPreflight {
  ok: boolean;
  missing: string[];
  summary: string;
}

export function canLoadSharedLibrary(name: string): boolean {
  try {
    process.dlopen({ exports: {} } as NodeJS.Module, name);
    return true;
  } catch (error) {
    return /did not self-register/i.test(error instanceof Error ? error.message : String(error));
  }
}

let cached: CudaPreflight | null = null;

export function cudaPreflight(libraries: readonly string[] = requiredCudaLibraries): CudaPreflight {
  if (cached && libraries === requiredCudaLibraries) return cached;
  if (process.platform !== 'linux') {
    return { ok: false, missing: [...libraries], summary: `CUDA preflight supports Linux only (this is ${process.platform})` };
  }
  const missing = libraries.filter((lib) => !canLoadSharedLibrary(lib));
  const result: CudaPreflight = {
    ok: missing.length === 0,
    missing,
    summary:
      missing.length === 0
        ? `CUDA libraries found: ${libraries.join(', ')}`
        : `cannot load ${missing.join(', ')}: the stock tfjs-node-gpu 4.22 build needs CUDA 11.2 and cuDNN 8.1 on LD_LIBRARY_PATH, or it silently computes on the CPU. ` +
          'On a CUDA 12 machine (NVIDIA driver 525.60 or newer; 555 or newer for Hopper and Blackwell) run `npm run native -- --gpu` instead: ' +
          'TensorFlow 2.21 with its CUDA 12 libraries from the Python package index (docs/gpu.md)',
  };
  if (libraries === requiredCudaLibraries) cached = result;
  return result;
}
