import * as tf from '@tensorflow/tfjs';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { log, logLevel, type LogLevel } from '../core/log.ts';
import { cudaPreflight, type CudaPreflight } from './cuda-preflight.ts';
import { nvidiaDriverPresent, nvidiaDriverVersion, probeGpuBuild, readCudaBuildStamp, type GpuBuildProbe } from './gpu-build.ts';
import { registerNativeKernels } from './native-kernels.ts';
import { registerWasmTrainingKernels } from './wasm-training-kernels.ts';
import type { BackendPreference } from './preferences.ts';

export { backendPreferences, type BackendPreference } from './preferences.ts';

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
  /** The GPU that computes (kind `tensorflow-gpu` with the CUDA 12 build): what environment.json records of it. */
  gpu?: GpuInfo;
  /** Better backends that were passed over, with the reason. */
  skipped: BackendProbe[];
}

export interface GpuInfo {
  name: string;
  computeCapability: string;
  memoryMiB: number;
  driver: string | null;
  /** CUDA and cuDNN TensorFlow was built with, and the CUDA runtime and cuDNN libraries it loads. */
  cuda: { builtWith: string; runtime: string };
  cudnn: { builtWith: string; library: string };
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
// Whether the user chose libtensorflow's log level (TF_CPP_MIN_LOG_LEVEL) before sliceseq loaded.
const tfLogLevelChosen = process.env.TF_CPP_MIN_LOG_LEVEL !== undefined;

/**
 * libtensorflow logs absl, CPU-feature and oneDNN banners through its C++ logger when it loads, which a user reads
 * as errors. Keep its warnings and errors only (TF_CPP_MIN_LOG_LEVEL=2; oneDNN itself stays on), unless the user
 * set TF_CPP_MIN_LOG_LEVEL or asked for debug logs (SLICESEQ_LOG=debug). libtensorflow reads the variable once,
 * when it loads: call this before the native package is imported.
 */
export function quietTensorFlowLogs(env: NodeJS.ProcessEnv = process.env, level: LogLevel = logLevel()): void {
  if (level === 'debug') return;
  env.TF_CPP_MIN_LOG_LEVEL ??= '2';
}

/**
 * TensorFlow's CPU tensors from its BFC allocator (a pool it keeps and reuses) instead of malloc, unless the user set
 * TF_CPU_ALLOCATOR_USE_BFC. With malloc, the first convolution's 16 MiB activations of the reference step are fresh
 * pages whenever glibc has given the previous ones back, and the page faults cost 10–30 ms of a ~90 ms step, so
 * the same step took 91 or 122 ms from run to run (docs/benchmarks.md). libtensorflow reads the variable once: call
 * this before the native package is imported.
 */
export function pooledTensorMemory(env: NodeJS.ProcessEnv = process.env): void {
  env.TF_CPU_ALLOCATOR_USE_BFC ??= 'true';
}

const installHints: Record<BackendKind, string> = {
  'tensorflow-gpu':
    'run `npm run native -- --gpu` (TensorFlow 2.21 with CUDA 12 from the Python package index into @tensorflow/tfjs-node-gpu; docs/gpu.md); ' +
    'with an NVIDIA driver older than 525.60 use the stock tfjs-node-gpu 4.22 build instead (CUDA 11.2, cuDNN 8.1: docs/gpu.md)',
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
 * A native package and whether its binding is built (lib/napi-vN/tfjs_binding.node). npm installs tfjs-node and
 * tfjs-node-gpu with their install scripts denied, so a package is present without a binding until `npm run native`
 * (or `npm run native -- --gpu`) builds it. `cuda12`: tfjs-node-gpu holds the CUDA 12 build, not the stock one.
 */
export function nativePackage(
  pkg: NativePackage,
): { installed: false } | { installed: true; dir: string; built: boolean; libraryDir: string; cuda12: boolean } {
  let dir: string;
  try {
    dir = dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    return { installed: false };
  }
  const lib = join(dir, 'lib');
  const built = existsSync(lib) && readdirSync(lib).some((entry) => entry.startsWith('napi-v') && existsSync(join(lib, entry, 'tfjs_binding.node')));
  return { installed: true, dir, built, libraryDir: join(dir, 'deps', 'lib'), cuda12: pkg === '@tensorflow/tfjs-node-gpu' && readCudaBuildStamp(dir) !== null };
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
          : `${pkg} is installed but its native binding is not built: run \`npm run native -- --gpu\` (docs/gpu.md)`,
    };
  }
  return { usable: true, detail: `native libtensorflow in ${found.libraryDir}` };
}

/**
 * Whether the GPU build may see a GPU, from what can be checked without loading it: for the CUDA 12 build an NVIDIA
 * driver (libcuda.so.1 loads), for the stock build also the CUDA 11 libraries (the preflight).
 */
function gpuCandidate(preflight: CudaPreflight): { usable: boolean; cuda12: boolean; detail: string; noGpu?: string } {
  const found = nativePackage('@tensorflow/tfjs-node-gpu');
  const status = nativeStatus('@tensorflow/tfjs-node-gpu');
  if (!found.installed || !status.usable) return { usable: false, cuda12: false, detail: status.detail };
  if (found.cuda12) {
    const noGpu = 'no NVIDIA driver (libcuda.so.1 not found)';
    if (!nvidiaDriverPresent()) return { usable: false, cuda12: true, noGpu, detail: `CUDA 12 build installed, but it sees no GPU: ${noGpu}; forced, it computes on the CPU` };
    return { usable: true, cuda12: true, detail: `CUDA 12 build (TensorFlow 2.21) in ${found.libraryDir}, NVIDIA driver ${nvidiaDriverVersion() ?? 'present'}` };
  }
  return { usable: preflight.ok, cuda12: false, detail: `stock build (libtensorflow 2.9.1, CUDA 11.2): ${preflight.summary}` };
}

let gpuProbe: GpuBuildProbe | null = null;

/** What the CUDA 12 build sees, probed once per process in a child process (gpu-build.ts). */
export function gpuBuildDevices(): GpuBuildProbe {
  const found = nativePackage('@tensorflow/tfjs-node-gpu');
  if (!found.installed) throw new Error('@tensorflow/tfjs-node-gpu is not installed');
  gpuProbe ??= probeGpuBuild(join(found.dir, 'package.json'));
  return gpuProbe;
}

function gpuInfo(probe: GpuBuildProbe): GpuInfo | undefined {
  const found = nativePackage('@tensorflow/tfjs-node-gpu');
  const stamp = found.installed ? readCudaBuildStamp(found.dir) : null;
  const gpu = probe.gpus[0];
  if (!gpu || !stamp) return undefined;
  return {
    name: gpu.name,
    computeCapability: gpu.computeCapability,
    memoryMiB: gpu.memoryMiB,
    driver: probe.driver,
    cuda: { builtWith: stamp.cuda, runtime: stamp.wheels['nvidia-cuda-runtime-cu12'] ?? 'unknown' },
    cudnn: { builtWith: stamp.cudnn, library: stamp.wheels['nvidia-cudnn-cu12'] ?? 'unknown' },
  };
}

/** Checks each backend without activating any (for `sliceseq env`). Loading a native binding has side effects, so native probes only look. */
export function probeBackends(): BackendProbe[] {
  const candidate = gpuCandidate(cudaPreflight());
  const gpu = nativeStatus('@tensorflow/tfjs-node-gpu');
  const cpuNative = nativeStatus('@tensorflow/tfjs-node');
  return [
    { kind: 'tensorflow-gpu', available: candidate.usable, detail: candidate.detail },
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
    pooledTensorMemory();
    quietTensorFlowLogs();
    await import(pkg as string);
    registerNativeKernels(pkg);
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

type Activation = { ok: true; device: string; gpu?: GpuInfo; kind?: BackendKind } | { ok: false; reason: string };

/** The GPU build computes on a GPU here: the stock build with its CUDA 11 libraries, the CUDA 12 build when TF sees a GPU. */
function gpuReady(preflight: CudaPreflight): { ok: true; probe: GpuBuildProbe | null } | { ok: false; reason: string; noGpu?: string } {
  const candidate = gpuCandidate(preflight);
  if (!candidate.usable) return { ok: false, reason: candidate.detail, ...(candidate.noGpu ? { noGpu: candidate.noGpu } : {}) };
  if (!candidate.cuda12) return { ok: true, probe: null };
  if (loadedNative && loadedNative.pkg !== '@tensorflow/tfjs-node-gpu') return { ok: false, reason: `${loadedNative.pkg} is already loaded in this process` };
  const probe = gpuBuildDevices();
  const noGpu = probe.noGpuReason ?? 'no op ran on a GPU';
  return probe.computesOnGpu ? { ok: true, probe } : { ok: false, reason: `the CUDA 12 build sees no GPU: ${noGpu}`, noGpu };
}

function describeGpu(gpu: GpuInfo): string {
  return `GPU ${gpu.name} (compute capability ${gpu.computeCapability}, ${(gpu.memoryMiB / 1024).toFixed(1)} GiB) via CUDA ${gpu.cuda.runtime}, cuDNN ${gpu.cudnn.library}, driver ${gpu.driver ?? 'unknown'}`;
}

/** Whether the loaded binding placed its ops on a GPU (tfjs-node's own check of TF's device list). */
function bindingUsesGpu(): boolean {
  return Boolean((tf.backend() as unknown as { binding?: { isUsingGpuDevice?(): boolean } }).binding?.isUsingGpuDevice?.());
}

let noGpuNoticeGiven = false;

async function tryActivate(kind: BackendKind, preflight: CudaPreflight, threads: number | undefined, forced: boolean): Promise<Activation> {
  try {
    switch (kind) {
      case 'tensorflow-gpu': {
        const ready = gpuReady(preflight);
        if (!ready.ok) {
          // Forced (--backend tensorflow-gpu): the CUDA 12 build still runs, on the CPU, and says so once.
          const found = nativePackage('@tensorflow/tfjs-node-gpu');
          if (!forced || !found.installed || !found.cuda12 || !ready.noGpu) return ready;
          // TF would log cuInit's failure as an error at load; the notice below says it in words.
          if (!tfLogLevelChosen && logLevel() !== 'debug') process.env.TF_CPP_MIN_LOG_LEVEL = '3';
          const loaded = await loadNative('@tensorflow/tfjs-node-gpu', threads);
          if (!loaded.ok) return loaded;
          if (!noGpuNoticeGiven) log.warn(`backend: tensorflow-gpu sees no GPU (${ready.noGpu}): computing on the CPU`);
          noGpuNoticeGiven = true;
          return { ok: true, kind: 'tensorflow', device: `CPU via the CUDA 12 build of libtensorflow (no GPU: ${ready.noGpu})` };
        }
        const loaded = await loadNative('@tensorflow/tfjs-node-gpu', threads);
        if (!loaded.ok) return loaded;
        if (!ready.probe) return { ok: true, device: `GPU via CUDA 11 (${preflight.summary})` };
        const gpu = gpuInfo(ready.probe);
        if (!gpu || !bindingUsesGpu()) return { ok: false, reason: 'the CUDA 12 build loaded but placed no op on a GPU' };
        return { ok: true, device: describeGpu(gpu), gpu };
      }
      case 'tensorflow': {
        const cpuBuild = nativeStatus('@tensorflow/tfjs-node');
        const pkg: NativePackage | null =
          loadedNative?.pkg ?? (cpuBuild.usable ? '@tensorflow/tfjs-node' : nativeStatus('@tensorflow/tfjs-node-gpu').usable ? '@tensorflow/tfjs-node-gpu' : null);
        if (!pkg) return { ok: false, reason: cpuBuild.detail };
        const loaded = await loadNative(pkg, threads);
        if (!loaded.ok) return loaded;
        if (pkg === '@tensorflow/tfjs-node-gpu' && bindingUsesGpu()) return { ok: true, kind: 'tensorflow-gpu', device: 'GPU via the GPU build of libtensorflow' };
        const found = nativePackage(pkg);
        const build = pkg === '@tensorflow/tfjs-node' ? pkg : `the ${found.installed && found.cuda12 ? 'CUDA 12' : 'GPU'} build, which sees no GPU`;
        return { ok: true, device: `CPU via native libtensorflow (${build})` };
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
    const result = await tryActivate(kind, preflight, options.threads, preference === 'tensorflow-gpu');
    if (result.ok) {
      await tf.ready();
      const actual = result.kind ?? kind;
      const library = actual.startsWith('tensorflow') ? nativeLibrary() : undefined;
      active = {
        kind: actual,
        tfBackend: tf.getBackend(),
        device: result.device,
        threads: threadsOf(actual),
        ...(library ? { library } : {}),
        ...(result.gpu ? { gpu: result.gpu } : {}),
        skipped,
      };
      if (!options.quiet) {
        // Once per process: every fold or trial run in it would say it again.
        for (const skip of skipped) log.once('info', `backend: skipped ${skip.kind}`, `backend: skipped ${skip.kind}: ${skip.detail}`);
        const details = [result.device, ...(library ? [`TensorFlow ${library.tensorflow}`] : []), `${active.threads} thread${active.threads === 1 ? '' : 's'}`];
        log.info(`backend: ${actual} (${details.join(', ')})`);
      }
      return active;
    }
    skipped.push({ kind, available: false, detail: result.reason });
  }
  const last = skipped[skipped.length - 1];
  const wanted: BackendKind = preference === 'auto' ? 'cpu' : preference === 'tensorflow' ? 'tensorflow' : preference;
  throw new Error(`backend '${preference}' cannot load: ${last?.detail ?? 'unknown reason'}; ${installHints[wanted]}`);
}
