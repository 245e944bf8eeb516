import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { log } from '../core/log.ts';
import { cudaPreflight, type CudaPreflight } from './cuda-preflight.ts';
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
  threads: number;
  /** Better backends that were passed over, with the reason. */
  skipped: BackendProbe[];
}

const require = createRequire(import.meta.url);

// tfjs's console banners (e.g. "looks like you are running TensorFlow.js in Node.js", printed the first time any
// module touches the default cpu backend) would drown our log; PROD silences them.
tf.env().set('PROD', true);

const installHints: Record<BackendKind, string> = {
  'tensorflow-gpu':
    'install it with `npm install @tensorflow/tfjs-node-gpu` on a machine that can reach storage.googleapis.com ' +
    '(or set TFJS_NODE_CDN_STORAGE / TFJS_NODE_BASE_URI to a libtensorflow mirror), with CUDA 11 and cuDNN 8 libraries on the loader path',
  tensorflow:
    'install it with `npm install @tensorflow/tfjs-node` (or @tensorflow/tfjs-node-gpu) on a machine that can reach ' +
    'storage.googleapis.com, or set TFJS_NODE_CDN_STORAGE / TFJS_NODE_BASE_URI to a libtensorflow mirror',
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

/** Checks each backend without activating any (for `sliceseq env`). Loading a native binding has side effects, so native probes only look. */
export function probeBackends(): BackendProbe[] {
  const preflight = cudaPreflight();
  const gpuInstalled = resolvable('@tensorflow/tfjs-node-gpu');
  const cpuNativeInstalled = resolvable('@tensorflow/tfjs-node');
  return [
    {
      kind: 'tensorflow-gpu',
      available: gpuInstalled && preflight.ok,
      detail: !gpuInstalled
        ? `@tensorflow/tfjs-node-gpu is not installed (its install downloads libtensorflow; offline it is skipped)`
        : preflight.summary,
    },
    {
      kind: 'tensorflow',
      available: cpuNativeInstalled,
      detail: cpuNativeInstalled ? 'native libtensorflow on the CPU' : '@tensorflow/tfjs-node is not installed',
    },
    {
      kind: 'wasm',
      available: resolvable('@tensorflow/tfjs-backend-wasm'),
      detail: 'WebAssembly with SIMD, single thread in Node',
    },
    { kind: 'cpu', available: true, detail: 'pure JavaScript (slow on convolutions)' },
  ];
}

async function tryActivate(kind: BackendKind, preflight: CudaPreflight): Promise<{ ok: true; device: string } | { ok: false; reason: string }> {
  try {
    switch (kind) {
      case 'tensorflow-gpu': {
        if (!resolvable('@tensorflow/tfjs-node-gpu')) return { ok: false, reason: '@tensorflow/tfjs-node-gpu is not installed' };
        // Without CUDA/cuDNN libtensorflow silently computes on the CPU: refuse rather than mislead.
        if (!preflight.ok) return { ok: false, reason: preflight.summary };
        await import('@tensorflow/tfjs-node-gpu' as string);
        if (!(await tf.setBackend('tensorflow'))) return { ok: false, reason: 'the tensorflow backend failed to initialise' };
        return { ok: true, device: `GPU via CUDA (${preflight.summary})` };
      }
      case 'tensorflow': {
        const pkg = resolvable('@tensorflow/tfjs-node') ? '@tensorflow/tfjs-node' : resolvable('@tensorflow/tfjs-node-gpu') ? '@tensorflow/tfjs-node-gpu' : null;
        if (!pkg) return { ok: false, reason: 'neither @tensorflow/tfjs-node nor @tensorflow/tfjs-node-gpu is installed' };
        await import(pkg as string);
        if (!(await tf.setBackend('tensorflow'))) return { ok: false, reason: 'the tensorflow backend failed to initialise' };
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
  if (kind === 'wasm') return 1;
  if (kind === 'cpu') return 1;
  return Number(process.env.TF_NUM_INTRAOP_THREADS) || 0;
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
export async function initBackend(preference: BackendPreference = 'auto', options: { quiet?: boolean } = {}): Promise<BackendChoice> {
  const preflight = cudaPreflight();
  const order: BackendKind[] =
    preference === 'auto' ? ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] : preference === 'tensorflow' ? ['tensorflow-gpu', 'tensorflow'] : [preference];
  const skipped: BackendProbe[] = [];
  for (const kind of order) {
    // Asking for `tensorflow` with only the GPU build present and no CUDA still runs natively on the CPU.
    if (preference === 'tensorflow' && kind === 'tensorflow-gpu' && !preflight.ok) {
      skipped.push({ kind, available: false, detail: preflight.summary });
      continue;
    }
    const result = await tryActivate(kind, preflight);
    if (result.ok) {
      await tf.ready();
      active = { kind, tfBackend: tf.getBackend(), device: result.device, threads: threadsOf(kind), skipped };
      if (!options.quiet) {
        for (const skip of skipped) log.info(`backend: skipped ${skip.kind}: ${skip.detail}`);
        log.info(`backend: ${kind} (${result.device})`);
      }
      return active;
    }
    skipped.push({ kind, available: false, detail: result.reason });
  }
  const last = skipped[skipped.length - 1];
  const wanted: BackendKind = preference === 'auto' ? 'cpu' : preference === 'tensorflow' ? 'tensorflow' : preference;
  throw new Error(`backend '${preference}' cannot load: ${last?.detail ?? 'unknown reason'}; ${installHints[wanted]}`);
}
