/**
 * `npm run native`: builds the native TensorFlow backend (@tensorflow/tfjs-node) from registries this machine can
 * reach. tfjs-node's own install script downloads libtensorflow and a prebuilt binding from Google's storage; instead
 * we take the TensorFlow C library from the `tensorflow-cpu` wheel on the Python package index and compile the
 * package's N-API binding against it with local Node headers.
 *
 * Steps (each prints what it does; a finished step is not redone):
 *   1. check the platform and tools (Linux x86_64 with glibc, python3 + pip, a C++ compiler and make, Node headers,
 *      disk space);
 *   2. download the pinned wheel into the cache (or reuse one already there, or `--wheel FILE`);
 *   3. extract the two libraries and the C headers, strip the libraries, and keep them in the cache;
 *   4. build the binding against them (kept in the cache too, so a later `npm ci` costs a copy, not a build);
 *   5. install libraries and binding into node_modules/@tensorflow/tfjs-node and check that it loads;
 *   6. build sliceseq's preprocessing kernels (native/kernels: window, CLAHE, resize) against Debian's OpenCV where
 *      its headers are installed (libopencv-imgproc-dev), and check that they load; without them it says so and
 *      preprocessing runs in JavaScript and OpenCV's WebAssembly build (the same bytes, slower);
 *   7. build sliceseq's own TensorFlow ops (native/tf-ops: the fused kernels' C++ ops, src/backend/sliceseq-ops.ts)
 *      against the installed TensorFlow C library and headers, and check that TensorFlow runs one (CPU package).
 *
 * `npm run native -- --gpu` does the same for @tensorflow/tfjs-node-gpu from the GPU-enabled `tensorflow` wheel (572 MB)
 * and the pinned CUDA 12 wheels of its `and-cuda` extra (2.7 GB, src/backend/gpu-build.ts), laid out as
 * deps/lib + deps/nvidia/<name>/lib so TensorFlow's RUNPATH finds them; it checks that layout and ends with a load
 * check that prints the GPUs TensorFlow sees, or why it sees none. Only the NVIDIA driver comes from the machine.
 *
 * Options: --gpu (the CUDA 12 build into @tensorflow/tfjs-node-gpu), --cached-only (download nothing: exit with code 3
 * when a wheel is not cached; CI uses it), --force (rebuild from the wheel), --wheel FILE
 * (the TensorFlow wheel), --cache DIR (default $SLICESEQ_CACHE_DIR, else $XDG_CACHE_HOME/sliceseq, else
 * ~/.cache/sliceseq), --nodedir DIR (a folder holding include/node/node_api.h).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, linkSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, statfsSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  CUDA_WHEEL_PLATFORMS,
  CUDA_WHEELS,
  checkCudaLayout,
  filesUnder,
  MIN_DRIVER_CUDA12,
  MIN_DRIVER_PTX,
  probeGpuBuild,
  type CudaBuildInfo,
} from '../src/backend/gpu-build.ts';

/** The pinned TensorFlow release and the one wheel file that carries it for every local Python. */
export const TENSORFLOW_VERSION = '2.21.0';
const WHEEL_TAGS = { python: '3.11', abi: 'cp311', platform: 'manylinux_2_27_x86_64' } as const;
const MIN_GLIBC = [2, 27] as const;

/** What differs between the CPU build (tfjs-node) and the CUDA 12 build (tfjs-node-gpu). */
interface Route {
  variant: 'cpu' | 'cuda12';
  pkg: '@tensorflow/tfjs-node' | '@tensorflow/tfjs-node-gpu';
  project: 'tensorflow-cpu' | 'tensorflow';
  wheelFile: string;
  wheelSize: string;
  /** Downloads + unpacked libraries + build, with a margin (measured, see docs/gpu.md). */
  neededBytes: number;
  cudaWheels: readonly (typeof CUDA_WHEELS)[number][];
}

const ROUTES: Record<'cpu' | 'gpu', Route> = {
  // Wheel (274 MB) + unstripped libraries (815 MB) + build, with a margin.
  cpu: {
    variant: 'cpu',
    pkg: '@tensorflow/tfjs-node',
    project: 'tensorflow-cpu',
    wheelFile: `tensorflow_cpu-${TENSORFLOW_VERSION}-cp311-cp311-manylinux_2_27_x86_64.whl`,
    wheelSize: '274 MB',
    neededBytes: 1.5 * 2 ** 30,
    cudaWheels: [],
  },
  // Wheels (3.3 GB) + unstripped TensorFlow (1.26 GB) + CUDA libraries kept (3.7 GB) + build, with a margin.
  gpu: {
    variant: 'cuda12',
    pkg: '@tensorflow/tfjs-node-gpu',
    project: 'tensorflow',
    wheelFile: `tensorflow-${TENSORFLOW_VERSION}-cp311-cp311-manylinux_2_27_x86_64.whl`,
    wheelSize: '572 MB',
    neededBytes: 9.5 * 2 ** 30,
    cudaWheels: CUDA_WHEELS,
  },
};
const LIBRARIES = ['libtensorflow_cc.so.2', 'libtensorflow_framework.so.2'] as const;
/** The binding links -ltensorflow -ltensorflow_framework: unversioned names for the wheel's libraries. */
const LINK_NAMES: Record<string, string> = { 'libtensorflow.so': 'libtensorflow_cc.so.2', 'libtensorflow_framework.so': 'libtensorflow_framework.so.2' };
/** Header folders of the wheel that tensorflow/c/c_api.h and c/eager/c_api.h include. */
const HEADER_PATTERNS = ['/tensorflow/c/', '/platform/ctstring', '/xla/tsl/c/', '/tsl/platform/platform.h', '/next_pluggable_device/c/'];
/** Which headers a cached CPU build holds: 2 adds those of tensorflow/c/kernels.h and ops.h (native/tf-ops, CPU package only). */
const HEADERS_LAYOUT = 2;

class SetupError extends Error {}
/** --cached-only and a wheel is not in the cache: exit code 3, so CI can tell "not cached" from "broken". */
class NotCachedError extends SetupError {}

const say = (message: string) => process.stdout.write(`native: ${message}\n`);
const fail = (message: string): never => {
  throw new SetupError(message);
};

function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): { ok: boolean; output: string } {
  const result = spawnSync(command, args, { cwd: options.cwd, env: options.env, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  return { ok: result.status === 0, output: result.error ? String(result.error.message) : output };
}

/** The last `count` lines of a command's output, for an error message. */
function lastLines(output: string, count: number): string {
  return output.trim().split('\n').slice(-count).join('\n');
}

function has(command: string, args = ['--version']): boolean {
  return run(command, args).ok;
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}

function freeBytes(path: string): number {
  let folder = resolve(path);
  while (!existsSync(folder)) folder = dirname(folder);
  const stats = statfsSync(folder);
  return stats.bavail * stats.bsize;
}

/** Step 1: everything the build needs, checked before anything is downloaded or written. */
function checkPlatform(route: Route): void {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    fail(
      `the ${route.project} wheel carries libtensorflow for Linux x86_64 only; this is ${process.platform}-${process.arch}. ` +
        (route.variant === 'cuda12'
          ? 'TensorFlow publishes no CUDA build for other platforms (on Windows, use WSL2 with the NVIDIA driver); otherwise use the CPU route, `npm run native`.'
          : 'On macOS or Windows with internet access, allow tfjs-node\'s own install script instead (docs/backends.md); otherwise use --backend wasm.'),
    );
  }
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  const glibc = header?.glibcVersionRuntime;
  if (!glibc) fail('this Linux has no glibc (musl, e.g. Alpine?): the wheel\'s libraries need glibc 2.27 or newer; use --backend wasm');
  const [major, minor] = glibc!.split('.').map(Number);
  if (major < MIN_GLIBC[0] || (major === MIN_GLIBC[0] && minor < MIN_GLIBC[1])) {
    fail(`glibc ${glibc} is older than ${MIN_GLIBC.join('.')}, which the ${WHEEL_TAGS.platform} wheel needs; use --backend wasm`);
  }
}

function checkTools(route: Route, needBuild: boolean, needDownload: boolean): void {
  if (needDownload && !has('python3', ['-m', 'pip', '--version'])) {
    fail(`python3 with pip is needed to download the ${route.project} wheel${route.cudaWheels.length ? 's' : ''} (Debian: apt-get install python3-pip), or pass --wheel FILE`);
  }
  if (needBuild && !has('python3')) fail('python3 is needed to unpack the wheels (Debian: apt-get install python3)');
  if (!needBuild) return;
  if (!has('python3')) fail('python3 is needed by node-gyp to build the binding (Debian: apt-get install python3)');
  const cxx = process.env.CXX ?? 'g++';
  if (!has(cxx)) fail(`no C++ compiler (${cxx}) found to build the binding (Debian: apt-get install g++ make)`);
  if (!has('make')) fail('make is needed to build the binding (Debian: apt-get install make)');
}

/** A folder X with X/include/node/node_api.h, which node-gyp takes as --nodedir without downloading headers. */
function findNodeDir(explicit: string | undefined): string {
  const candidates = (explicit ? [explicit] : [process.env.npm_config_nodedir, resolve(dirname(process.execPath), '..'), '/usr', '/usr/local']).filter(
    (value): value is string => Boolean(value),
  );
  for (const candidate of candidates) if (existsSync(join(candidate, 'include/node/node_api.h'))) return candidate;
  return fail(
    `no Node headers found (looked for include/node/node_api.h under ${candidates.join(', ')}). ` +
      'Install Debian\'s libnode-dev (or nodejs headers of your distribution), or pass --nodedir DIR.',
  );
}

function packageDir(name: string): string | null {
  try {
    return dirname(createRequire(import.meta.url).resolve(`${name}/package.json`));
  } catch {
    return null;
  }
}

interface Stamp {
  tensorflow: string;
  tfjsNode: string;
  napi: string;
  /** Absent in stamps written before the CUDA build existed: the CPU build. */
  variant?: 'cpu' | 'cuda12';
  /** The CUDA build: what TensorFlow was built with, and the CUDA wheels beside it. */
  build?: CudaBuildInfo;
  /** HEADERS_LAYOUT of the cached headers (absent: 1). */
  headers?: number;
}

function readStamp(path: string): Stamp | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Stamp;
  } catch {
    return null;
  }
}

function sameStamp(a: Stamp | null, b: Stamp): boolean {
  return (
    a !== null &&
    a.tensorflow === b.tensorflow &&
    a.tfjsNode === b.tfjsNode &&
    a.napi === b.napi &&
    (a.variant ?? 'cpu') === (b.variant ?? 'cpu') &&
    (a.headers ?? 1) === (b.headers ?? 1)
  );
}

/** Hard link where the file system allows (the libraries are 630 MB), else copy; through a temporary name. */
function place(from: string, to: string): void {
  const temporary = `${to}.tmp-${process.pid}`;
  rmSync(temporary, { force: true });
  try {
    linkSync(from, temporary);
  } catch {
    copyFileSync(from, temporary);
  }
  renameSync(temporary, to);
}

function linkNames(libDir: string): void {
  for (const [name, target] of Object.entries(LINK_NAMES)) {
    rmSync(join(libDir, name), { force: true });
    symlinkSync(target, join(libDir, name));
  }
}

/** One pinned wheel file, downloaded once into the cache's wheels/ (pip, exact version, fixed tags, no dependencies). */
function download(wheelsDir: string, requirement: string, file: string, size: string, platforms: readonly string[]): string {
  const path = join(wheelsDir, file);
  if (existsSync(path)) {
    say(`using the cached wheel ${path}`);
    return path;
  }
  mkdirSync(wheelsDir, { recursive: true });
  say(`downloading ${requirement} (${size}) into ${wheelsDir}`);
  const pip = run('python3', [
    '-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', '--disable-pip-version-check',
    '--python-version', WHEEL_TAGS.python, '--implementation', 'cp', '--abi', WHEEL_TAGS.abi, ...platforms.flatMap((platform) => ['--platform', platform]),
    '-d', wheelsDir, requirement,
  ]);
  if (!pip.ok || !existsSync(path)) fail(`pip could not download ${requirement} as ${file}:\n${lastLines(pip.output, 5)}`);
  return path;
}

/** Step 2: the TensorFlow wheel (or `--wheel FILE`) and, for the CUDA build, the CUDA wheels, all pinned. */
function wheels(route: Route, cacheDir: string, explicit: string | undefined): { tensorflow: string; cuda: string[] } {
  if (explicit && !existsSync(explicit)) fail(`--wheel ${explicit}: no such file`);
  const wheelsDir = join(cacheDir, 'wheels');
  const tensorflow = explicit ?? download(wheelsDir, `${route.project}==${TENSORFLOW_VERSION}`, route.wheelFile, `about ${route.wheelSize}`, [WHEEL_TAGS.platform]);
  const cuda = route.cudaWheels.map((cudaWheel) => download(wheelsDir, `${cudaWheel.project}==${cudaWheel.version}`, cudaWheel.file, 'CUDA 12', CUDA_WHEEL_PLATFORMS));
  return { tensorflow, cuda };
}

/** All the wheel files a route downloads are in the cache already. */
function wheelsCached(route: Route, cacheDir: string): boolean {
  return [route.wheelFile, ...route.cudaWheels.map((w) => w.file)].every((file) => existsSync(join(cacheDir, 'wheels', file)));
}

/** Step 3: libraries and headers out of the wheel (a zip) into `dest`, libraries stripped. */
function extract(wheelPath: string, dest: string): CudaBuildInfo | null {
  say(`extracting ${LIBRARIES.join(', ')} and the C headers from ${wheelPath}`);
  const script = [
    'import sys, zipfile, shutil, os, json',
    'wheel, dest, libs, patterns = sys.argv[1], sys.argv[2], sys.argv[3].split(","), sys.argv[4].split(",")',
    'z = zipfile.ZipFile(wheel)',
    'names = set(z.namelist())',
    'missing = [l for l in libs if "tensorflow/" + l not in names]',
    'if missing: sys.exit("the wheel lacks " + ", ".join(missing))',
    'for l in libs:',
    '    with z.open("tensorflow/" + l) as src, open(os.path.join(dest, "lib", l), "wb") as out: shutil.copyfileobj(src, out, 1 << 22)',
    'for n in names:',
    '    if n.startswith("tensorflow/include/") and not n.endswith("/") and any(p in n for p in patterns):',
    '        target = os.path.join(dest, "include", n[len("tensorflow/include/"):])',
    '        os.makedirs(os.path.dirname(target), exist_ok=True)',
    '        with z.open(n) as src, open(target, "wb") as out: shutil.copyfileobj(src, out)',
    // The GPU build's build_info: the CUDA and cuDNN versions and GPU architectures it was compiled for.
    'info = "tensorflow/python/platform/build_info.py"',
    'if info in names:',
    '    scope = {}; exec(z.read(info).decode(), scope); b = dict(scope["build_info"])',
    '    if b.get("is_cuda_build"): print(json.dumps({"cuda": b["cuda_version"], "cudnn": b["cudnn_version"], "computeCapabilities": b["cuda_compute_capabilities"]}))',
  ].join('\n');
  mkdirSync(join(dest, 'lib'), { recursive: true });
  mkdirSync(join(dest, 'include'), { recursive: true });
  const result = run('python3', ['-c', script, wheelPath, dest, LIBRARIES.join(','), HEADER_PATTERNS.join(',')]);
  if (!result.ok) fail(`could not extract the wheel ${wheelPath} (delete it to download again): ${result.output.trim()}`);
  if (has('strip')) {
    const size = () => LIBRARIES.reduce((sum, lib) => sum + statSync(join(dest, 'lib', lib)).size, 0);
    const before = size();
    const stripped = run('strip', ['--strip-unneeded', ...LIBRARIES.map((lib) => join(dest, 'lib', lib))]);
    const mb = (bytes: number) => `${Math.round(bytes / 1e6)} MB`;
    say(stripped.ok ? `stripped the libraries (${mb(before)} → ${mb(size())})` : `strip failed, keeping unstripped libraries: ${stripped.output.trim()}`);
  } else {
    say('strip (binutils) not found: keeping unstripped libraries (about 180 MB more)');
  }
  linkNames(join(dest, 'lib'));
  const info = result.output.trim().split('\n').pop() ?? '';
  return info.startsWith('{') ? { ...(JSON.parse(info) as Omit<CudaBuildInfo, 'wheels'>), wheels: {} } : null;
}

/** Step 3 of the CUDA build: from each CUDA wheel, the files TensorFlow uses, into dest/nvidia/<name>/ as pip lays them out. */
function extractCuda(route: Route, wheelPaths: string[], dest: string): Record<string, string> {
  const script = [
    'import sys, zipfile, shutil, os',
    'wheel, dest, keep = sys.argv[1], sys.argv[2], sys.argv[3].split(",")',
    'z = zipfile.ZipFile(wheel)',
    'names = set(z.namelist())',
    'missing = [k for k in keep if k not in names]',
    'if missing: sys.exit("the wheel lacks " + ", ".join(missing))',
    'for k in keep:',
    '    target = os.path.join(dest, k)',
    '    os.makedirs(os.path.dirname(target), exist_ok=True)',
    '    with z.open(k) as src, open(target, "wb") as out: shutil.copyfileobj(src, out, 1 << 22)',
    '    if "/bin/" in k: os.chmod(target, 0o755)',
  ].join('\n');
  const versions: Record<string, string> = {};
  route.cudaWheels.forEach((cudaWheel, index) => {
    say(`extracting ${cudaWheel.project} ${cudaWheel.version}: ${cudaWheel.keep.map((file) => file.split('/').pop()).join(', ')}`);
    const members = cudaWheel.keep.map((file) => `nvidia/${cudaWheel.dir}/${file}`);
    const result = run('python3', ['-c', script, wheelPaths[index], dest, members.join(',')]);
    if (!result.ok) fail(`could not extract ${wheelPaths[index]} (delete it to download again): ${result.output.trim()}`);
    versions[cudaWheel.project] = cudaWheel.version;
  });
  return versions;
}

/** Step 4: node-pre-gyp builds the binding against deps/ of the package, into `bindingPath` (lib/napi-vN). */
function build(pkg: string, nodeDir: string, bindingPath: string): void {
  const preGypBin = createRequire(join(pkg, 'package.json')).resolve('@mapbox/node-pre-gyp/bin/node-pre-gyp');
  say(`building the N-API binding with node-gyp against ${join(nodeDir, 'include/node')} (about a minute)`);
  rmSync(bindingPath, { force: true });
  const result = run(process.execPath, [preGypBin, 'rebuild', '--build-from-source', '--build-latest-napi-version-only', `--nodedir=${nodeDir}`], {
    cwd: pkg,
  });
  if (!result.ok || !existsSync(bindingPath)) fail(`the binding did not build:\n${lastLines(result.output, 20)}`);
}

/** Step 5: the binding loads in a fresh process and runs an op; returns what it reports. */
function loadCheck(route: Route, pkg: string): string {
  return route.variant === 'cuda12' ? gpuLoadCheck(pkg) : cpuLoadCheck();
}

/**
 * The CUDA build's load check: TensorFlow's version, the CUDA and cuDNN it was built with, and each GPU it sees
 * (name, compute capability, memory) — or why it sees none, in which case it computes on the CPU.
 */
function gpuLoadCheck(pkg: string): string {
  const problems = checkCudaLayout(join(pkg, 'deps'));
  if (problems.length > 0) fail(`the CUDA libraries are not laid out as TensorFlow's RUNPATH expects:\n  ${problems.join('\n  ')}`);
  const stamp = readStamp(join(pkg, 'deps/sliceseq-native.json'));
  let probe: ReturnType<typeof probeGpuBuild>;
  try {
    probe = probeGpuBuild(join(pkg, 'package.json'));
  } catch (error) {
    return fail(error instanceof Error ? error.message : String(error));
  }
  const build = stamp?.build;
  const lines = [
    `@tensorflow/tfjs-node-gpu loads TensorFlow ${probe.tensorflow}` +
      (build ? ` built with CUDA ${build.cuda} and cuDNN ${build.cudnn} (kernels for ${build.computeCapabilities.join(', ')})` : ''),
    build ? `CUDA libraries: cudart ${build.wheels['nvidia-cuda-runtime-cu12']}, cuBLAS ${build.wheels['nvidia-cublas-cu12']}, cuDNN ${build.wheels['nvidia-cudnn-cu12']} (every RUNPATH folder present)` : '',
    ...probe.gpus.map((gpu) => `GPU ${gpu.device.split('device:').pop()}: ${gpu.name}, compute capability ${gpu.computeCapability}, ${(gpu.memoryMiB / 1024).toFixed(1)} GiB`),
    probe.computesOnGpu
      ? `NVIDIA driver ${probe.driver ?? 'unknown'}: TensorFlow places ops on the GPU`
      : `no GPU: ${probe.noGpuReason ?? 'the test op did not run on a GPU'}; this build computes on the CPU. ` +
        `It needs the NVIDIA driver ${MIN_DRIVER_CUDA12} or newer on Pascal to Ada GPUs, ${MIN_DRIVER_PTX} or newer on Hopper and Blackwell`,
  ];
  return lines.filter(Boolean).join('\nnative: ');
}

function cpuLoadCheck(): string {
  const probe = [
    "process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';",
    "const tf = require('@tensorflow/tfjs-node');",
    'const sum = tf.add(tf.tensor1d([1, 2]), tf.tensor1d([3, 4])).dataSync();',
    "if (sum[0] !== 4 || sum[1] !== 6) throw new Error('1+3, 2+4 gave ' + Array.from(sum));",
    "console.log(`backend ${tf.getBackend()}, TensorFlow ${tf.backend().binding.TF_Version}, tfjs-node ${tf.version['tfjs-node']}`);",
  ].join('\n');
  const result = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8', cwd: process.cwd() });
  if (result.status !== 0) fail(`the native backend does not load:\n${lastLines(`${result.stdout}${result.stderr}`, 8)}`);
  return result.stdout.trim();
}

/** node-gyp as npm ships it (npm sets npm_config_node_gyp for its scripts; beside Node's own npm otherwise). */
function nodeGyp(): string {
  const candidates = [process.env.npm_config_node_gyp, resolve(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js')];
  const found = candidates.find((path): path is string => Boolean(path && existsSync(path)));
  return found ?? fail(`node-gyp not found (looked at ${candidates.filter(Boolean).join(', ')}); run this through npm: npm run native`);
}

/**
 * Builds the N-API module in `dir` with node-gyp: configure, then make, which recompiles only the sources (or
 * headers, or flags) that changed since the last build, so a repeated `npm run native` takes seconds.
 */
function gypBuild(dir: string, nodedir: string | undefined, env: NodeJS.ProcessEnv): { ok: boolean; output: string } {
  const options = { cwd: dir, env: { ...process.env, ...env } };
  const configured = run(process.execPath, [nodeGyp(), 'configure', `--nodedir=${findNodeDir(nodedir)}`], options);
  return configured.ok ? run(process.execPath, [nodeGyp(), 'build'], options) : configured;
}

/** Debian's OpenCV headers: $OPENCV_INCLUDE_DIR, else the usual include folders. */
function findOpenCvHeaders(): string | undefined {
  const candidates = [process.env.OPENCV_INCLUDE_DIR, '/usr/include/opencv4', '/usr/local/include/opencv4'];
  return candidates.find((dir): dir is string => Boolean(dir && existsSync(join(dir, 'opencv2/imgproc.hpp'))));
}

/**
 * Step 6: the preprocessing kernels (native/kernels/kernels.cc, one file, about two seconds to build), brought up to
 * date with the sources on every run; returns what loads, or why they were not built.
 */
export function setupKernels(options: { nodedir?: string }): string {
  const headers = findOpenCvHeaders();
  if (!headers) {
    return (
      "preprocessing kernels not built: OpenCV's headers are missing (Debian: apt-get install libopencv-imgproc-dev, " +
      'or set OPENCV_INCLUDE_DIR); preprocessing runs in JavaScript and OpenCV WebAssembly, with the same bytes'
    );
  }
  const dir = fileURLToPath(new URL('../native/kernels/', import.meta.url));
  say(`building the preprocessing kernels against OpenCV in ${headers}`);
  const built = gypBuild(dir, options.nodedir, { OPENCV_INCLUDE_DIR: headers });
  if (!built.ok) fail(`the preprocessing kernels did not build:\n${lastLines(built.output, 20)}`);
  const probe = [
    `const kernels = require(${JSON.stringify(join(dir, 'build/Release/sliceseq_kernels.node'))});`,
    'const out = new Float32Array(2);',
    'kernels.window(Float32Array.of(40, 200), 2, Float64Array.of(0), Float64Array.of(80), 1, out);',
    "if (out[0] !== 0.5 || out[1] !== 1) throw new Error('window of 40 and 200 HU in 40/80 gave ' + Array.from(out));",
    'console.log(`preprocessing kernels on OpenCV ${kernels.opencvVersion}`);',
  ].join('\n');
  const loaded = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8' });
  if (loaded.status !== 0) fail(`the preprocessing kernels do not load:\n${lastLines(`${loaded.stdout}${loaded.stderr}`, 8)}`);
  return loaded.stdout.trim();
}

/**
 * Step 7: sliceseq's own TensorFlow ops (native/tf-ops, a few C++ files, about ten seconds to build) against the
 * TensorFlow C library and headers installed in @tensorflow/tfjs-node/deps, brought up to date with the sources on
 * every run; returns what loads. They register with the process's TensorFlow, so the check loads tfjs-node
 * first and runs one op through its binding.
 */
export function setupTfOps(options: { nodedir?: string }): string {
  const pkg = packageDir(ROUTES.cpu.pkg);
  const deps = pkg && join(pkg, 'deps');
  if (!deps || !existsSync(join(deps, 'include/tensorflow/c/kernels.h'))) {
    return `sliceseq's TensorFlow ops not built: ${ROUTES.cpu.pkg} is not set up with TensorFlow's C headers (\`npm run native\` sets it up); the fused kernels run TensorFlow's own ops`;
  }
  const dir = fileURLToPath(new URL('../native/tf-ops/', import.meta.url));
  say(`building sliceseq's TensorFlow ops against ${deps}`);
  const built = gypBuild(dir, options.nodedir, { TF_DEPS_DIR: deps });
  if (!built.ok) fail(`sliceseq's TensorFlow ops did not build:\n${lastLines(built.output, 20)}`);
  const probe = [
    "process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';",
    "const tf = require('@tensorflow/tfjs-node');",
    `const ops = require(${JSON.stringify(join(dir, 'build/Release/sliceseq_tf_ops.node'))});`,
    'if (ops.error) throw new Error(ops.error);',
    'const backend = tf.backend();',
    "const norm = backend.executeSingleOutput('SliceseqGlobalNorm', [{ name: 'N', type: backend.binding.TF_ATTR_INT, value: 2 }], [tf.tensor1d([3, 4]), tf.tensor1d([12])]).dataSync();",
    "if (norm[0] !== 13) throw new Error('the global norm of (3, 4) and (12) gave ' + norm[0]);",
    "console.log(`sliceseq's TensorFlow ops: ${ops.ops.join(', ')}`);",
  ].join('\n');
  const loaded = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8' });
  if (loaded.status !== 0) fail(`sliceseq's TensorFlow ops do not load:\n${lastLines(`${loaded.stdout}${loaded.stderr}`, 8)}`);
  return loaded.stdout.trim();
}

function defaultCacheDir(): string {
  return process.env.SLICESEQ_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'sliceseq');
}

export function setupNative(options: { gpu?: boolean; force?: boolean; wheel?: string; cache?: string; nodedir?: string; cachedOnly?: boolean }): string {
  const route = ROUTES[options.gpu ? 'gpu' : 'cpu'];
  checkPlatform(route);
  const pkg = packageDir(route.pkg);
  if (!pkg) fail(`${route.pkg} is not installed: run \`npm ci\` first (it is an optional dependency of sliceseq)`);
  const tfjsNode = (JSON.parse(readFileSync(join(pkg!, 'package.json'), 'utf8')) as { version: string }).version;
  // Where tfjs-node looks for its binding at run time: lib/napi-vN for the newest N-API version it lists that this Node has.
  const preGyp = createRequire(join(pkg!, 'package.json'))('@mapbox/node-pre-gyp') as { find(packageJson: string): string };
  const bindingPath = preGyp.find(join(pkg!, 'package.json'));
  const modulePath = dirname(bindingPath);
  const napi = modulePath.split('napi-v').pop() ?? '';
  const cudaVersions = Object.fromEntries(route.cudaWheels.map((w) => [w.project, w.version]));
  const stamp: Stamp = { tensorflow: TENSORFLOW_VERSION, tfjsNode, napi, ...(route.variant === 'cuda12' ? { variant: route.variant } : { headers: HEADERS_LAYOUT }) };
  // A CUDA build also matches only with the same pinned CUDA wheels.
  const matches = (found: Stamp | null) => sameStamp(found, stamp) && JSON.stringify(found?.build?.wheels ?? {}) === JSON.stringify(cudaVersions);
  const installedStamp = join(pkg!, 'deps/sliceseq-native.json');

  if (!options.force && matches(readStamp(installedStamp)) && existsSync(join(modulePath, 'tfjs_binding.node'))) {
    say(`already set up (${pkg}); checking that it loads`);
    return loadCheck(route, pkg!);
  }

  const cacheRoot = options.cache ?? defaultCacheDir();
  const name = route.variant === 'cuda12' ? `tfjs-node-gpu-${tfjsNode}-tensorflow-${TENSORFLOW_VERSION}-cuda12` : `tfjs-node-${tfjsNode}-tensorflow-${TENSORFLOW_VERSION}`;
  const cache = join(cacheRoot, 'native', `${name}-napi-${napi}-linux-x64`);
  const cacheStamp = join(cache, 'stamp.json');
  const cachedStamp = readStamp(cacheStamp);
  const cached = !options.force && matches(cachedStamp) && existsSync(join(cache, 'tfjs_binding.node'));
  const needDownload = !cached && !options.wheel && !wheelsCached(route, cacheRoot);
  if (needDownload && options.cachedOnly) {
    throw new NotCachedError(`--cached-only: the ${route.project} wheel${route.cudaWheels.length ? ` and the ${route.cudaWheels.length} CUDA 12 wheels` : ''} are not all in ${join(cacheRoot, 'wheels')}; \`npm run native${options.gpu ? ' -- --gpu' : ''}\` downloads them`);
  }
  checkTools(route, !cached, needDownload);

  const deps = join(pkg!, 'deps');
  /** The cache's libraries and headers into the package's deps/ (lib/, include/, and nvidia/ for the CUDA build), hard-linked where possible. */
  const installLibraries = () => {
    rmSync(deps, { recursive: true, force: true });
    mkdirSync(join(deps, 'lib'), { recursive: true });
    for (const lib of LIBRARIES) place(join(cache, 'lib', lib), join(deps, 'lib', lib));
    linkNames(join(deps, 'lib'));
    run('cp', ['-r', join(cache, 'include'), join(deps, 'include')]);
    if (route.variant !== 'cuda12') return;
    for (const file of filesUnder(join(cache, 'nvidia'))) {
      mkdirSync(dirname(join(deps, 'nvidia', file)), { recursive: true });
      place(join(cache, 'nvidia', file), join(deps, 'nvidia', file));
    }
  };
  let finalStamp: Stamp;
  if (!cached) {
    const nodeDir = findNodeDir(options.nodedir);
    const free = Math.min(freeBytes(cache), freeBytes(pkg!));
    if (free < route.neededBytes) fail(`${gib(free)} free where the build needs about ${gib(route.neededBytes)} (cache ${cache}, package ${pkg})`);
    const downloaded = wheels(route, cacheRoot, options.wheel);
    rmSync(cache, { recursive: true, force: true });
    mkdirSync(cache, { recursive: true });
    const info = extract(downloaded.tensorflow, cache);
    if (route.variant === 'cuda12' && !info) fail(`${downloaded.tensorflow} is not a CUDA build of TensorFlow (its build_info says so); pass the tensorflow wheel, not tensorflow-cpu`);
    const cudaBuild = route.variant === 'cuda12' ? { ...info!, wheels: extractCuda(route, downloaded.cuda, cache) } : undefined;
    finalStamp = { ...stamp, ...(cudaBuild ? { build: cudaBuild } : {}) };
    installLibraries();
    build(pkg!, nodeDir, bindingPath);
    place(bindingPath, join(cache, 'tfjs_binding.node'));
    writeFileSync(cacheStamp, `${JSON.stringify(finalStamp, null, 2)}\n`);
  } else {
    say(`installing the cached build from ${cache}`);
    finalStamp = cachedStamp!;
    installLibraries();
  }
  // The binding finds the libraries through its rpath, $ORIGIN/../../deps/lib.
  mkdirSync(modulePath, { recursive: true });
  for (const entry of readdirSync(join(pkg!, 'lib'), { withFileTypes: true })) {
    if (entry.isDirectory() && entry.name.startsWith('napi-v') && join(pkg!, 'lib', entry.name) !== modulePath) {
      rmSync(join(pkg!, 'lib', entry.name), { recursive: true, force: true });
    }
  }
  place(join(cache, 'tfjs_binding.node'), join(modulePath, 'tfjs_binding.node'));
  rmSync(join(pkg!, 'build'), { recursive: true, force: true });
  writeFileSync(installedStamp, `${JSON.stringify(finalStamp, null, 2)}\n`);
  say(`installed into ${pkg}`);
  return loadCheck(route, pkg!);
}

function main(): void {
  const { values } = parseArgs({
    options: {
      gpu: { type: 'boolean' },
      force: { type: 'boolean' },
      wheel: { type: 'string' },
      cache: { type: 'string' },
      nodedir: { type: 'string' },
      'cached-only': { type: 'boolean' },
    },
  });
  const started = Date.now();
  try {
    const report = setupNative({ ...values, cachedOnly: values['cached-only'] });
    say(`${report} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    say(setupKernels(values));
    say(setupTfOps(values));
  } catch (error) {
    if (!(error instanceof SetupError)) throw error;
    process.stderr.write(`native: ${error.message}\n`);
    process.exitCode = error instanceof NotCachedError ? 3 : 1;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) main();
