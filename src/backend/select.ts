import * as tf from '@tensorflow/tfjs';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { log } from '../core/log.ts';
import { cudaPreflight, type CudaPreflight } from './cuda-preflight.ts';
import { registerNativeKernels } from './native-kernels.ts';
import { registerWasmTrainingKernels } from './wasm-training-kernels.ts';

/** What a user may ask for. `tensorflow` is the native libtensorflow binding (GPU build first, then CPU build). */
export const backendPreferences = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendPreference = (typeof backendPreferences)[number];

/** What actually runs. */
export type BackendKind = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';

export interface BackendProbe {
  kind: BackendKind;
  available: boolean;
  /** Why it cannot be used, or details of how it runs. */
  detail: string;
}

export interface BackendChoice {
  kind: BackendKind;
  /** The tfjs backend name (`tensorflow`, `wasm`, `cpu`). */
  tfBackend: string;
  /** The device the math really runs on, in words. */
  device: string;
  /** Threads the math runs on: TF's intra-op threads for the native backends, 1 for wasm and cpu. */
  threads: number;
  /** The TensorFlow C library behind a native backend: its version and the folder it was loaded from. */
  library?: { tensorflow: string; path: string };
  /** Better backends that were passed over, with the reason. */
  skipped: BackendProbe[];
}

export interface InitOptions {
  quiet?: boolean;
  /**
   * TensorFlow's intra-op threads for the native backends (0 or absent: TF_NUM_INTRAOP_THREADS if set, else TF's
   * default of one per core). libtensorflow reads it once, when the binding loads.
   */
  threads?: number;
}

const require = createRequire(import.meta.url);

// tfjs's console banners (e.g. "looks like you are running TensorFlow.js in Node.js", printed the first time any
// module touches the default cpu backend) would drown our log; PROD silences them.
tf.env().set('PROD', true);
// libtensorflow logs oneDNN and CPU-feature banners through its C++ logger at load; keep only warnings and errors
// unless the user asked for more.
process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';

const installHints: Record<BackendKind, string> = {
  'tensorflow-gpu':
    'run `npm run native` for the CPU build (README: Backends); for the GPU build install it with `npm install @tensorflow/tfjs-node-gpu` on a machine that can reach storage.googleapis.com ' +
    '(or set TFJS_NODE_CDN_STORAGE / TFJS_NODE_BASE_URI to a libtensorflow mirror), with CUDA 11 and cuDNN 8 libraries on the loader path',
  tensorflow:
    'run `npm run native` (builds @tensorflow/tfjs-node against the TensorFlow C library of the tensorflow-cpu wheel), or allow ' +
    "tfjs-node's own install script on a machine that can reach storage.googleapis.com (or set TFJS_NODE_CDN_STORAGE / " +
    'TFJS_NODE_BASE_URI to a libtensorflow mirror)',
  wasm: 'reinstall dependencies with `npm ci`: @tensorflow/tfjs-backend-wasm is a required dependency',
  cpu: 'reinstall dependencies with `npm ci`: @tensorflow/tfjs ships the cpu backend',
};

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0];
}

/** Whether a package resolves from here, without executing it. */
function resolvable(pkg: string): boolean {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

type NativePackage = '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node';

/**
 * A native package and whether its binding is built (lib/napi-vN/tfjs_binding.node). npm installs tfjs-node with
 * its install script denied, so the package is usually present without a binding until `npm run native` builds it.
 */
export function nativePackage(pkg: NativePackage): { installed: false } | { installed: true; dir: string; built: boolean; libraryDir: string } {
  let dir: string;
  try {
    dir = dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    return { installed: false };
  }
  const lib = join(dir, 'lib');
  const built = existsSync(lib) && readdirSync(lib).some((entry) => entry.startsWith('napi-v') && existsSync(join(lib, entry, 'tfjs_binding.node')));
  return { installed: true, dir, built, libraryDir: join(dir, 'deps', 'lib') };
}

function nativeStatus(pkg: NativePackage): { usable: boolean; detail: string } {
  const found = nativePackage(pkg);
  if (!found.installed) return { usable: false, detail: `${pkg} is not installed` };
  if (!found.built) {
    return {
      usable: false,
      detail:
        pkg === '@tensorflow/tfjs-node'
          ? `${pkg} is installed but its native binding is not built: run \`npm run native\``
          : `${pkg} is installed but its native binding is not built (its install script downloads libtensorflow)`,
    };
  }
  return { usable: true, detail: `native libtensorflow in ${found.libraryDir}` };
}

/** Checks each backend without activating any (for `sliceseq env`). Loading a native binding has side effects, so native probes only look. */
export function probeBackends(): BackendProbe[] {
  const preflight = cudaPreflight();
  const gpu = nativeStatus('@tensorflow/tfjs-node-gpu');
  const cpuNative = nativeStatus('@tensorflow/tfjs-node');
  return [
    {
      kind: 'tensorflow-gpu',
      available: gpu.usable && preflight.ok,
      detail: !gpu.usable ? gpu.detail : preflight.summary,
    },
    {
      kind: 'tensorflow',
      available: cpuNative.usable || gpu.usable,
      detail: cpuNative.usable ? `${cpuNative.detail}, on the CPU` : gpu.usable ? `${gpu.detail} (the GPU build), on the CPU` : cpuNative.detail,
    },
    {
      kind: 'wasm',
      available: resolvable('@tensorflow/tfjs-backend-wasm'),
      detail: 'WebAssembly with SIMD, single thread in Node',
    },
    { kind: 'cpu', available: true, detail: 'pure JavaScript (slow on convolutions)' },
  ];
}

/** The native package this process loaded (one per process: both register the backend name 'tensorflow'). */
let loadedNative: { pkg: NativePackage; threads: number } | null = null;

/** TF's intra-op thread count as libtensorflow will read it at load: the request, else the environment, else one per core. */
function intraOpThreads(requested: number | undefined): number {
  if (requested && requested > 0) return requested;
  return Number(process.env.TF_NUM_INTRAOP_THREADS) || availableParallelism();
}

async function loadNative(pkg: NativePackage, threads: number | undefined): Promise<{ ok: true } | { ok: false; reason: string }> {
  const status = nativeStatus(pkg);
  if (!status.usable) return { ok: false, reason: status.detail };
  if (loadedNative) {
    if (loadedNative.pkg !== pkg) return { ok: false, reason: `${loadedNative.pkg} is already loaded in this process` };
    if (threads && threads > 0 && threads !== loadedNative.threads) {
      log.warn(`backend: libtensorflow was loaded with ${loadedNative.threads} intra-op threads; ${threads} takes effect only in a new process`);
    }
  } else {
    if (threads && threads > 0) process.env.TF_NUM_INTRAOP_THREADS = String(threads);
    await import(pkg as string);
    registerNativeKernels();
    loadedNative = { pkg, threads: intraOpThreads(threads) };
  }
  if (!(await tf.setBackend('tensorflow'))) return { ok: false, reason: 'the tensorflow backend failed to initialise' };
  return { ok: true };
}

function nativeLibrary(): { tensorflow: string; path: string } | undefined {
  if (!loadedNative) return undefined;
  const found = nativePackage(loadedNative.pkg);
  const binding = (tf.backend() as unknown as { binding?: { TF_Version?: string } }).binding;
  return { tensorflow: binding?.TF_Version ?? 'unknown', path: found.installed ? found.libraryDir : loadedNative.pkg };
}

async function tryActivate(
  kind: BackendKind,
  preflight: CudaPreflight,
  threads: number | undefined,
): Promise<{ ok: true; device: string } | { ok: false; reason: string }> {
  try {
    switch (kind) {
      case 'tensorflow-gpu': {
        // Without CUDA/cuDNN libtensorflow silently computes on the CPU: refuse rather than mislead.
        const status = nativeStatus('@tensorflow/tfjs-node-gpu');
        if (!status.usable) return { ok: false, reason: status.detail };
        if (!preflight.ok) return { ok: false, reason: preflight.summary };
        const loaded = await loadNative('@tensorflow/tfjs-node-gpu', threads);
        if (!loaded.ok) return loaded;
        return { ok: true, device: `GPU via CUDA (${preflight.summary})` };
      }
      case 'tensorflow': {
        const cpuBuild = nativeStatus('@tensorflow/tfjs-node');
        const pkg: NativePackage | null =
          loadedNative?.pkg ?? (cpuBuild.usable ? '@tensorflow/tfjs-node' : nativeStatus('@tensorflow/tfjs-node-gpu').usable ? '@tensorflow/tfjs-node-gpu' : null);
        if (!pkg) return { ok: false, reason: cpuBuild.detail };
        const loaded = await loadNative(pkg, threads);
        if (!loaded.ok) return loaded;
        const onGpu = pkg === '@tensorflow/tfjs-node-gpu' && preflight.ok;
        return { ok: true, device: onGpu ? 'GPU via CUDA' : `CPU via native libtensorflow (${pkg})` };
      }
      case 'wasm': {
        await import('@tensorflow/tfjs-backend-wasm');
        if (!(await tf.setBackend('wasm'))) return { ok: false, reason: 'the wasm backend failed to initialise' };
        registerWasmTrainingKernels();
        return { ok: true, device: 'CPU via WebAssembly SIMD' };
      }
      case 'cpu': {
        if (!(await tf.setBackend('cpu'))) return { ok: false, reason: 'the cpu backend failed to initialise' };
        return { ok: true, device: 'CPU via JavaScript' };
      }
    }
  } catch (error) {
    return { ok: false, reason: firstLine(error) };
  }
}

function threadsOf(kind: BackendKind): number {
  if (kind === 'wasm' || kind === 'cpu') return 1;
  return loadedNative?.threads ?? intraOpThreads(undefined);
}

let active: BackendChoice | null = null;

/** The backend chosen by the last `initBackend`, or null. */
export function activeBackend(): BackendChoice | null {
  return active;
}

/**
 * Activates a backend. `auto` tries tensorflow-gpu, tensorflow, wasm, cpu in that order and logs why each better
 * one was skipped; a named backend that cannot load fails at once, saying how to install it.
 */
export async function initBackend(preference: BackendPreference = 'auto', options: InitOptions = {}): Promise<BackendChoice> {
  const preflight = cudaPreflight();
  const order: BackendKind[] =
    preference === 'auto' ? ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] : preference === 'tensorflow' ? ['tensorflow-gpu', 'tensorflow'] : [preference];
  const skipped: BackendProbe[] = [];
  for (const kind of order) {
    // Asking for `tensorflow` with only the GPU build present and no CUDA still runs natively on the CPU.
    if (preference === 'tensorflow' && kind === 'tensorflow-gpu') {
      const gpu = nativeStatus('@tensorflow/tfjs-node-gpu');
      if (!gpu.usable || !preflight.ok) {
        skipped.push({ kind, available: false, detail: gpu.usable ? preflight.summary : gpu.detail });
        continue;
      }
    }
    const result = await tryActivate(kind, preflight, options.threads);
    if (result.ok) {
      await tf.ready();
      const library = kind.startsWith('tensorflow') ? nativeLibrary() : undefined;
      active = { kind, tfBackend: tf.getBackend(), device: result.device, threads: threadsOf(kind), ...(library ? { library } : {}), skipped };
      if (!options.quiet) {
        for (const skip of skipped) log.info(`backend: skipped ${skip.kind}: ${skip.detail}`);
        const details = [result.device, ...(library ? [`TensorFlow ${library.tensorflow}`] : []), `${active.threads} thread${active.threads === 1 ? '' : 's'}`];
        log.info(`backend: ${kind} (${details.join(', ')})`);
      }
      return active;
    }
    skipped.push({ kind, available: false, detail: result.reason });
  }
  const last = skipped[skipped.length - 1];
  const wanted: BackendKind = preference === 'auto' ? 'cpu' : preference === 'tensorflow' ? 'tensorflow' : preference;
  throw new Error(`backend '${preference}' cannot load: ${last?.detail ?? 'unknown reason'}; ${installHints[wanted]}`);
}
