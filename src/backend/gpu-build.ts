/**
 * The CUDA 12 build of the native backend: TensorFlow 2.21's GPU-enabled libraries (the `tensorflow` wheel) behind
 * @tensorflow/tfjs-node-gpu, with the CUDA libraries of the wheel's `and-cuda` extra laid out beside them, as
 * `npm run native -- --gpu` installs it (scripts/native-setup.ts):
 *
 *   deps/lib/libtensorflow_cc.so.2, libtensorflow_framework.so.2   RUNPATH $ORIGIN/../nvidia/<name>/lib
 *   deps/nvidia/<name>/lib/lib*.so.*                               one folder per CUDA wheel, as pip lays them out
 *
 * so TensorFlow finds every CUDA library through its own RUNPATH, with no LD_LIBRARY_PATH. Only the NVIDIA driver
 * (libcuda.so.1) comes from the machine. This module owns the pins, the layout check and the device probe.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { canLoadSharedLibrary } from './cuda-preflight.ts';

/** One wheel of `tensorflow[and-cuda]`, pinned: what is kept of it under deps/nvidia/<dir>/ (paths below that folder). */
export interface CudaWheel {
  project: string;
  version: string;
  file: string;
  dir: string;
  keep: readonly string[];
}

const wheel = (project: string, version: string, platform: string, dir: string, keep: string[]): CudaWheel => ({
  project,
  version,
  file: `${project.replaceAll('-', '_')}-${version}-py3-none-${platform}.whl`,
  dir,
  keep,
});
const M2014 = 'manylinux2014_x86_64.manylinux_2_17_x86_64';
const M2010 = 'manylinux2010_x86_64.manylinux_2_12_x86_64';
const M227 = 'manylinux_2_27_x86_64';

/**
 * The newest CUDA 12 release of each wheel the `and-cuda` extra of tensorflow 2.21.0 names, within its ranges
 * (what `pip install tensorflow[and-cuda]` resolved to when pinned): CUDA 12.9 libraries, cuDNN 9.28, NCCL 2.32.
 * They carry SASS for Hopper and Blackwell; TensorFlow itself was built with CUDA 12.5.1 and cuDNN 9.
 * Not kept: headers, static parts, and libraries TensorFlow never loads (nvblas, cufftw, cusolverMg, nvrtc's .alt
 * twins); of nvcc only ptxas and libdevice, which XLA's JIT would use.
 */
export const CUDA_WHEELS: readonly CudaWheel[] = [
  wheel('nvidia-cublas-cu12', '12.9.3.13', M227, 'cublas', ['lib/libcublas.so.12', 'lib/libcublasLt.so.12']),
  wheel('nvidia-cuda-cupti-cu12', '12.8.90', M2014, 'cuda_cupti', ['lib/libcupti.so.12', 'lib/libnvperf_host.so', 'lib/libnvperf_target.so']),
  wheel('nvidia-cuda-nvcc-cu12', '12.9.86', M2010, 'cuda_nvcc', ['bin/ptxas', 'nvvm/libdevice/libdevice.10.bc']),
  wheel('nvidia-cuda-nvrtc-cu12', '12.9.86', M2010, 'cuda_nvrtc', ['lib/libnvrtc.so.12', 'lib/libnvrtc-builtins.so.12.9']),
  wheel('nvidia-cuda-runtime-cu12', '12.9.79', M2014, 'cuda_runtime', ['lib/libcudart.so.12']),
  wheel('nvidia-cudnn-cu12', '9.28.0.42', M227, 'cudnn', [
    ...['', '_adv', '_cnn', '_engines_precompiled', '_engines_runtime_compiled', '_engines_tensor_ir', '_ext', '_graph', '_heuristic', '_ops'].map(
      (part) => `lib/libcudnn${part}.so.9`,
    ),
  ]),
  wheel('nvidia-cufft-cu12', '11.4.1.4', M2014, 'cufft', ['lib/libcufft.so.11']),
  wheel('nvidia-curand-cu12', '10.3.10.19', M227, 'curand', ['lib/libcurand.so.10']),
  wheel('nvidia-cusolver-cu12', '11.7.5.82', M227, 'cusolver', ['lib/libcusolver.so.11']),
  wheel('nvidia-cusparse-cu12', '12.5.10.65', M2014, 'cusparse', ['lib/libcusparse.so.12']),
  wheel('nvidia-nccl-cu12', '2.32.3', M227, 'nccl', ['lib/libnccl.so.2']),
  wheel('nvidia-nvjitlink-cu12', '12.9.86', M2010, 'nvjitlink', ['lib/libnvJitLink.so.12']),
];

/** The platform tags pip is given for the CUDA wheels (they are tagged manylinux 2.12, 2.17 or 2.27). */
export const CUDA_WHEEL_PLATFORMS = ['manylinux_2_27_x86_64', 'manylinux_2_17_x86_64', 'manylinux2014_x86_64', 'manylinux_2_12_x86_64', 'manylinux2010_x86_64'];

/** RUNPATH folders of TensorFlow's libraries that no `and-cuda` wheel fills: optional (TensorRT, NVSHMEM), never needed. */
const OPTIONAL_RUNPATH = ['tensorrt', 'nvidia/nvshmem/lib'];
/** Libraries every Linux has, and the driver's own, which the machine provides. */
const SYSTEM_LIBRARIES = /^(libc|libm|libdl|libpthread|librt|libutil|libgcc_s|libstdc\+\+|ld-linux-x86-64|libz)\.so/;
const DRIVER_LIBRARIES = ['libcuda.so.1'];

/** What the build stamp (deps/sliceseq-native.json) records of a CUDA build; read from the wheel's build_info. */
export interface CudaBuildInfo {
  /** CUDA and cuDNN versions TensorFlow was built with. */
  cuda: string;
  cudnn: string;
  /** GPU architectures it carries kernels for: sm_XY machine code, compute_XY PTX (JIT-compiled by the driver). */
  computeCapabilities: string[];
  /** The CUDA wheels installed beside it: project → version. */
  wheels: Record<string, string>;
}

// ---------------------------------------------------------------------------------------------------------------
// ELF: the dynamic section of a shared library (DT_NEEDED, DT_RUNPATH), read from its headers only.

export interface ElfDynamic {
  soname?: string;
  needed: string[];
  /** DT_RUNPATH (or the older DT_RPATH), split into folders, in order, duplicates removed. */
  runpath: string[];
}

function readAt(fd: number, position: number, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  const read = readSync(fd, buffer, 0, length, position);
  if (read !== length) throw new Error(`short read at ${position}`);
  return buffer;
}

/** Reads DT_NEEDED, DT_SONAME and DT_RUNPATH of a 64-bit little-endian ELF file (x86_64 shared libraries). */
export function readElfDynamic(path: string): ElfDynamic {
  const fd = openSync(path, 'r');
  try {
    const header = readAt(fd, 0, 64);
    if (header.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${path} is not an ELF file`);
    if (header[4] !== 2 || header[5] !== 1) throw new Error(`${path}: only 64-bit little-endian ELF is read`);
    const phoff = Number(header.readBigUInt64LE(0x20));
    const phentsize = header.readUInt16LE(0x36);
    const phnum = header.readUInt16LE(0x38);
    const table = readAt(fd, phoff, phentsize * phnum);
    const loads: Array<{ vaddr: number; offset: number; size: number }> = [];
    let dynamic: { offset: number; size: number } | null = null;
    for (let i = 0; i < phnum; i++) {
      const at = i * phentsize;
      const type = table.readUInt32LE(at);
      const offset = Number(table.readBigUInt64LE(at + 8));
      const vaddr = Number(table.readBigUInt64LE(at + 16));
      const size = Number(table.readBigUInt64LE(at + 32));
      if (type === 1) loads.push({ vaddr, offset, size });
      if (type === 2) dynamic = { offset, size };
    }
    if (!dynamic) return { needed: [], runpath: [] };
    const entries = readAt(fd, dynamic.offset, dynamic.size);
    const values: Array<[number, number]> = [];
    for (let at = 0; at + 16 <= entries.length; at += 16) {
      const tag = Number(entries.readBigInt64LE(at));
      if (tag === 0) break;
      values.push([tag, Number(entries.readBigUInt64LE(at + 8))]);
    }
    const value = (tag: number) => values.find(([t]) => t === tag)?.[1];
    const strtabAddress = value(5);
    const strtabSize = value(10);
    if (strtabAddress === undefined || strtabSize === undefined) throw new Error(`${path}: dynamic section without a string table`);
    const segment = loads.find((load) => strtabAddress >= load.vaddr && strtabAddress < load.vaddr + load.size);
    if (!segment) throw new Error(`${path}: string table outside every loaded segment`);
    const strings = readAt(fd, strtabAddress - segment.vaddr + segment.offset, strtabSize);
    const text = (offset: number) => strings.toString('utf8', offset, strings.indexOf(0, offset));
    const runpathTag = value(29) ?? value(15);
    const soname = value(14);
    return {
      ...(soname !== undefined ? { soname: text(soname) } : {}),
      needed: values.filter(([tag]) => tag === 1).map(([, offset]) => text(offset)),
      runpath: runpathTag === undefined ? [] : [...new Set(text(runpathTag).split(':').filter(Boolean))],
    };
  } finally {
    closeSync(fd);
  }
}

/** A RUNPATH entry as a folder: $ORIGIN (or ${ORIGIN}) is the library's own folder. */
export function expandOrigin(entry: string, libraryDir: string): string {
  return resolve(entry.replace(/^\$(\{ORIGIN\}|ORIGIN)/, libraryDir));
}

// ---------------------------------------------------------------------------------------------------------------
// The layout check.

export const TENSORFLOW_LIBRARIES = ['libtensorflow_cc.so.2', 'libtensorflow_framework.so.2'] as const;

/**
 * Checks a CUDA build's deps/ folder: every RUNPATH folder of TensorFlow's libraries that a CUDA wheel fills exists
 * and holds that wheel's libraries; every file kept of each wheel is there; and every library each CUDA library
 * links (DT_NEEDED) resolves through its own RUNPATH, or is one the machine provides (libc & co., zlib, the driver's
 * libcuda). Returns the problems, none when the layout is complete. Needs no GPU.
 */
export function checkCudaLayout(deps: string): string[] {
  const problems: string[] = [];
  const depsDir = resolve(deps);
  const libDir = join(depsDir, 'lib');
  const nvidiaDir = join(depsDir, 'nvidia');
  const wanted = new Map(CUDA_WHEELS.map((w) => [resolve(nvidiaDir, w.dir, 'lib'), w]));
  for (const library of TENSORFLOW_LIBRARIES) {
    const path = join(libDir, library);
    if (!existsSync(path)) {
      problems.push(`${path} is missing`);
      continue;
    }
    for (const entry of readElfDynamic(path).runpath) {
      const folder = expandOrigin(entry, libDir);
      // Each folder is listed twice, for Python's layout (site-packages/tensorflow/, two levels up) and one level up,
      // which is ours (deps/lib → deps/nvidia); Bazel's build-tree entries ($ORIGIN/, _solib, runfiles) are not ours.
      if (!folder.startsWith(depsDir + '/')) continue;
      const relativePath = folder.slice(depsDir.length + 1);
      if (!relativePath.startsWith('nvidia/') || OPTIONAL_RUNPATH.includes(relativePath)) continue;
      const owner = wanted.get(folder);
      if (!owner) {
        problems.push(`${library}: RUNPATH ${entry} → ${folder} is filled by no CUDA wheel of the and-cuda extra`);
        continue;
      }
      if (!existsSync(folder)) problems.push(`${library}: RUNPATH ${entry} → ${folder} does not exist (${owner.project})`);
    }
  }
  for (const cudaWheel of CUDA_WHEELS) {
    const base = join(nvidiaDir, cudaWheel.dir);
    for (const kept of cudaWheel.keep) {
      const path = join(base, kept);
      if (!existsSync(path)) {
        problems.push(`${path} is missing (${cudaWheel.project} ${cudaWheel.version})`);
        continue;
      }
      if (!/\.so(\.|$)/.test(kept)) continue;
      const elf = readElfDynamic(path);
      const searched = elf.runpath.map((entry) => expandOrigin(entry, dirname(path)));
      for (const needed of elf.needed) {
        if (SYSTEM_LIBRARIES.test(needed) || DRIVER_LIBRARIES.includes(needed)) continue;
        if (!searched.some((folder) => existsSync(join(folder, needed)))) {
          problems.push(`${path} links ${needed}, which its RUNPATH (${elf.runpath.join(':') || 'none'}) does not find`);
        }
      }
    }
  }
  if (!canLoadSharedLibrary('libz.so.1')) problems.push('cuDNN links zlib (libz.so.1), which this machine lacks (Debian: apt-get install zlib1g)');
  return problems;
}

// ---------------------------------------------------------------------------------------------------------------
// The NVIDIA driver and what TensorFlow sees.

/** CUDA 12 libraries run on drivers from 525.60.13 on (CUDA's minor-version compatibility). */
export const MIN_DRIVER_CUDA12 = '525.60.13';
/**
 * TensorFlow 2.21 was built with CUDA 12.5.1 and carries PTX, not machine code, for compute capability 9.0 and up
 * (Hopper, Blackwell): the driver JIT-compiles it, which minor-version compatibility does not cover, so those GPUs
 * need the CUDA 12.5 driver or newer.
 */
export const MIN_DRIVER_PTX = '555.42.06';

export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

/** The NVIDIA kernel driver's version (/proc/driver/nvidia/version, where TensorFlow reads it too), or null. */
export function nvidiaDriverVersion(versionFile = '/proc/driver/nvidia/version'): string | null {
  try {
    return /Kernel Module\s+(?:for \S+\s+)?(\d+\.\d+(?:\.\d+)?)/.exec(readFileSync(versionFile, 'utf8'))?.[1] ?? null;
  } catch {
    return null;
  }
}

/** Whether this machine's NVIDIA driver is usable at all: its user-space library loads. Cheap; loads nothing of TF. */
export function nvidiaDriverPresent(): boolean {
  return process.platform === 'linux' && canLoadSharedLibrary('libcuda.so.1');
}

export interface GpuDevice {
  /** TensorFlow's device name, e.g. /job:localhost/replica:0/task:0/device:GPU:0. */
  device: string;
  name: string;
  computeCapability: string;
  memoryMiB: number;
}

export interface DeviceReport {
  gpus: GpuDevice[];
  /** Why TensorFlow sees no GPU, in words (null when it sees one). */
  noGpuReason: string | null;
  driver: string | null;
}

/**
 * What TensorFlow's log (TF_CPP_MIN_LOG_LEVEL=0) says about GPUs: the devices it created, or why it created none.
 * `machine`: the driver version this machine reports and whether libcuda.so.1 loads (TF 2.21 without it only logs
 * cuInit's error 303, "shared object init failed").
 */
export function parseDeviceLog(log: string, machine: { driver: string | null; libcuda: boolean }): DeviceReport {
  const driver = machine.driver;
  const gpus: GpuDevice[] = [];
  const created = /Created device (\S+) with (\d+) MB memory:\s*->\s*device: \d+, name: (.+?), pci bus id: [^,]+, compute capability: (\d+\.\d+)/g;
  for (const match of log.matchAll(created)) {
    gpus.push({ device: match[1], memoryMiB: Number(match[2]), name: match[3], computeCapability: match[4] });
  }
  const reportedDriver = driver ?? /kernel reported version is: (\d+\.\d+(?:\.\d+)?)/.exec(log)?.[1] ?? null;
  if (gpus.length > 0) return { gpus, noGpuReason: null, driver: reportedDriver };
  let reason: string;
  const cuInit = /failed call to cuInit: (.*)/.exec(log)?.[1]?.trim();
  const ignored = /Ignoring visible gpu device \((.*?)\) with Cuda compute capability (\d+\.\d+)\. The minimum required Cuda capability is (\d+\.\d+)/.exec(log);
  const missing = [...log.matchAll(/Could not load dynamic library '([^']+)'/g)].map((m) => m[1]);
  if (!machine.libcuda || /Could not find cuda drivers on your machine/.test(log)) {
    reason = 'no NVIDIA driver (libcuda.so.1 not found)';
  } else if (cuInit && /NO_DEVICE/.test(cuInit)) {
    reason = `the NVIDIA driver${reportedDriver ? ` ${reportedDriver}` : ''} finds no CUDA device (cuInit: ${cuInit})`;
  } else if (cuInit && /INSUFFICIENT_DRIVER|COMPAT_NOT_SUPPORTED|SYSTEM_DRIVER_MISMATCH/.test(cuInit)) {
    reason = `driver too old or mismatched for CUDA 12 (cuInit: ${cuInit}; needs ${MIN_DRIVER_CUDA12} or newer)`;
  } else if (cuInit) {
    reason = `cuInit failed: ${cuInit}`;
  } else if (ignored) {
    reason = `GPU ${ignored[1]} has compute capability ${ignored[2]}; TensorFlow needs ${ignored[3]}`;
  } else if (missing.length > 0) {
    reason = `CUDA libraries did not load: ${[...new Set(missing)].join(', ')} (the layout is incomplete: npm run native -- --gpu --force)`;
  } else {
    reason = 'TensorFlow created no GPU device';
  }
  if (reportedDriver && compareVersions(reportedDriver, MIN_DRIVER_CUDA12) < 0 && !/too old/.test(reason)) {
    reason += `; driver ${reportedDriver} is older than ${MIN_DRIVER_CUDA12}, the oldest that runs CUDA 12 libraries`;
  }
  return { gpus, noGpuReason: reason, driver: reportedDriver };
}

export interface GpuBuildProbe extends DeviceReport {
  tensorflow: string;
  /** The binding placed ops on a GPU (tfjs-node's isUsingGpuDevice) and a test op on it gave the right numbers. */
  computesOnGpu: boolean;
}

/**
 * Loads @tensorflow/tfjs-node-gpu in a child process with TensorFlow's log on, runs one op, and reports the devices
 * TF created (or why none): nothing is loaded into this process. Takes a few seconds (the library is 1 GB).
 */
export function probeGpuBuild(packageJson: string): GpuBuildProbe {
  const script = [
    `const tf = require(${JSON.stringify(dirname(packageJson))});`,
    'const binding = tf.backend().binding;',
    'const sum = tf.add(tf.tensor1d([1, 2]), tf.tensor1d([3, 4])).dataSync();',
    "if (sum[0] !== 4 || sum[1] !== 6) throw new Error('1+3, 2+4 gave ' + Array.from(sum));",
    'process.stdout.write(JSON.stringify({ tensorflow: binding.TF_Version, gpu: binding.isUsingGpuDevice() }));',
  ].join('\n');
  const result = spawnSync(process.execPath, ['-e', script], {
    encoding: 'utf8',
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '0', TF_CPP_MAX_VLOG_LEVEL: '0' },
    maxBuffer: 16 * 2 ** 20,
  });
  if (result.status !== 0) {
    const tail = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').slice(-6).join('\n');
    throw new Error(`@tensorflow/tfjs-node-gpu does not load:\n${tail}`);
  }
  const { tensorflow, gpu } = JSON.parse(result.stdout) as { tensorflow: string; gpu: boolean };
  const devices = parseDeviceLog(result.stderr, { driver: nvidiaDriverVersion(), libcuda: nvidiaDriverPresent() });
  return { tensorflow, computesOnGpu: gpu && devices.gpus.length > 0, ...devices };
}

/** The CUDA build's stamp, or null for a stock tfjs-node-gpu install (libtensorflow 2.9.1 for CUDA 11.2). */
export function readCudaBuildStamp(packageDir: string): (CudaBuildInfo & { tensorflow: string }) | null {
  try {
    const stamp = JSON.parse(readFileSync(join(packageDir, 'deps', 'sliceseq-native.json'), 'utf8')) as { variant?: string; tensorflow: string; build?: CudaBuildInfo };
    return stamp.variant === 'cuda12' && stamp.build ? { tensorflow: stamp.tensorflow, ...stamp.build } : null;
  } catch {
    return null;
  }
}

/** The files under a folder, recursively, relative to it (for laying a cached build out under node_modules). */
export function filesUnder(root: string, prefix = ''): string[] {
  return readdirSync(join(root, prefix), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(root, join(prefix, entry.name)) : [join(prefix, entry.name)],
  );
}
