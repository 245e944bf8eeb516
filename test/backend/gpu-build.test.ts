import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CUDA_WHEELS,
  checkCudaLayout,
  compareVersions,
  expandOrigin,
  nvidiaDriverVersion,
  parseDeviceLog,
  readCudaBuildStamp,
  readElfDynamic,
  TENSORFLOW_LIBRARIES,
} from '../../src/backend/gpu-build.ts';
import { initBackend, nativePackage } from '../../src/backend/select.ts';
import { writeDemoDataset } from '../../src/data/demo/dataset.ts';
import { quickstartDemo } from '../../src/cli/commands/quickstart.ts';
import { projectRoot } from '../../src/core/version.ts';

const gpuPackage = nativePackage('@tensorflow/tfjs-node-gpu');
const cudaBuild = gpuPackage.installed && gpuPackage.built && gpuPackage.cuda12;
/** .ci/run sets it when it installed the CUDA 12 build: then these tests must run, not skip. */
const required = process.env.SLICESEQ_REQUIRE_GPU_BUILD === '1';

describe('ELF dynamic sections and RUNPATH', () => {
  it('reads what Node itself links', () => {
    const elf = readElfDynamic(process.execPath);
    expect(elf.needed).toContain('libc.so.6');
    expect(elf.needed.every((name) => /\.so(\.|$)/.test(name))).toBe(true);
  });

  it('refuses a file that is not ELF, naming it', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'elf-')), 'not-elf.so');
    writeFileSync(path, 'just text, long enough to hold a 64-byte ELF header and then some more bytes.');
    expect(() => readElfDynamic(path)).toThrow(/not-elf\.so is not an ELF file/);
  });

  it('expands $ORIGIN against the library folder', () => {
    expect(expandOrigin('$ORIGIN/../nvidia/cublas/lib', '/x/deps/lib')).toBe('/x/deps/nvidia/cublas/lib');
    expect(expandOrigin('${ORIGIN}/../../nvidia/cudnn/lib', '/x/deps/lib')).toBe('/x/nvidia/cudnn/lib');
    expect(expandOrigin('/usr/lib', '/x/deps/lib')).toBe('/usr/lib');
  });
});

describe('what TensorFlow says about GPUs', () => {
  const machine = { driver: '570.86.15', libcuda: true };
  it('lists the devices it created', () => {
    const log = [
      'I0000 gpu_device.cc:2020] Created device /job:localhost/replica:0/task:0/device:GPU:0 with 78910 MB memory:  -> device: 0, name: NVIDIA H100 80GB HBM3, pci bus id: 0000:00:07.0, compute capability: 9.0',
    ].join('\n');
    expect(parseDeviceLog(log, machine)).toEqual({
      gpus: [{ device: '/job:localhost/replica:0/task:0/device:GPU:0', name: 'NVIDIA H100 80GB HBM3', computeCapability: '9.0', memoryMiB: 78910 }],
      noGpuReason: null,
      driver: '570.86.15',
    });
  });

  it('says why it sees none: no driver, no device, an old driver, missing libraries', () => {
    const cuInit303 = 'E0000 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)';
    expect(parseDeviceLog(cuInit303, { driver: null, libcuda: false }).noGpuReason).toBe('no NVIDIA driver (libcuda.so.1 not found)');
    expect(parseDeviceLog('failed call to cuInit: CUDA_ERROR_NO_DEVICE: no CUDA-capable device is detected', machine).noGpuReason).toMatch(
      /driver 570\.86\.15 finds no CUDA device/,
    );
    expect(parseDeviceLog('failed call to cuInit: CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE', { driver: '470.82.01', libcuda: true }).noGpuReason).toMatch(
      /driver too old or mismatched for CUDA 12.*525\.60\.13/,
    );
    expect(parseDeviceLog('kernel reported version is: 470.82.1\nfailed call to cuInit: UNKNOWN', { driver: null, libcuda: true }).noGpuReason).toMatch(
      /driver 470\.82\.1 is older than 525\.60\.13/,
    );
    expect(parseDeviceLog("Could not load dynamic library 'libcudnn.so.9'; dlerror: not found", machine).noGpuReason).toMatch(/libcudnn\.so\.9/);
  });

  it('compares driver versions numerically', () => {
    expect(compareVersions('555.42.06', '525.60.13')).toBe(1);
    expect(compareVersions('525.60.13', '525.60.13')).toBe(0);
    expect(compareVersions('470.82', '525.60.13')).toBe(-1);
    expect(nvidiaDriverVersion('/nonexistent/driver/version')).toBeNull();
  });
});

describe.runIf(gpuPackage.installed)('npm run native -- --gpu', () => {
  it('with --cached-only and an empty cache downloads nothing and exits with code 3, saying what is missing', () => {
    const cache = mkdtempSync(join(tmpdir(), 'native-cache-'));
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/native-setup.ts', '--gpu', '--force', '--cached-only'], {
      cwd: projectRoot,
      encoding: 'utf8',
      env: { ...process.env, SLICESEQ_CACHE_DIR: cache },
    });
    expect(result.status, result.stderr).toBe(3);
    expect(result.stderr).toMatch(/--cached-only: the tensorflow wheel and the 12 CUDA 12 wheels are not all in .*wheels; `npm run native -- --gpu` downloads them/);
    expect(readdirSync(cache)).toEqual([]);
  });
});

describe.runIf(cudaBuild || required)('the CUDA 12 build (npm run native -- --gpu), without a GPU', () => {
  const deps = gpuPackage.installed ? join(gpuPackage.dir, 'deps') : '';

  it('is installed, with the build it records', () => {
    expect(cudaBuild, '`npm run native -- --gpu` did not install the CUDA 12 build').toBe(true);
    const stamp = readCudaBuildStamp(gpuPackage.installed ? gpuPackage.dir : '')!;
    expect(stamp.cuda).toMatch(/^12\./);
    expect(stamp.wheels).toEqual(Object.fromEntries(CUDA_WHEELS.map((w) => [w.project, w.version])));
  });

  it('has every RUNPATH folder TensorFlow needs, each holding its libraries', () => {
    const runpath = readElfDynamic(join(deps, 'lib', 'libtensorflow_framework.so.2')).runpath;
    expect(runpath).toContain('$ORIGIN/../nvidia/cudnn/lib');
    expect(checkCudaLayout(deps)).toEqual([]);
  });

  it('the layout check names a CUDA folder that is missing', () => {
    // The same libraries through links, with cuDNN left out.
    const copy = mkdtempSync(join(tmpdir(), 'deps-'));
    mkdirSync(join(copy, 'lib'));
    for (const library of TENSORFLOW_LIBRARIES) symlinkSync(join(deps, 'lib', library), join(copy, 'lib', library));
    mkdirSync(join(copy, 'nvidia'));
    for (const dir of readdirSync(join(deps, 'nvidia')).filter((name) => name !== 'cudnn')) symlinkSync(join(deps, 'nvidia', dir), join(copy, 'nvidia', dir));
    const problems = checkCudaLayout(copy);
    expect(problems.some((p) => /RUNPATH \$ORIGIN\/\.\.\/nvidia\/cudnn\/lib → .*does not exist \(nvidia-cudnn-cu12\)/.test(p))).toBe(true);
    expect(problems.some((p) => /libcudnn_graph\.so\.9 is missing/.test(p))).toBe(true);
  });

  it('--backend tensorflow-gpu loads it and computes on the CPU when no GPU is visible', async () => {
    const choice = await initBackend('tensorflow-gpu', { quiet: true });
    expect(choice.library?.path).toMatch(/tfjs-node-gpu[\\/]deps[\\/]lib$/);
    expect(choice.library?.tensorflow).toBe('2.21.0');
    if (choice.kind === 'tensorflow') {
      expect(choice.device).toMatch(/^CPU via the CUDA 12 build of libtensorflow \(no GPU: .+\)$/);
      expect(choice.gpu).toBeUndefined();
    } else {
      expect(choice.kind).toBe('tensorflow-gpu');
      expect(choice.gpu?.name.length).toBeGreaterThan(0);
    }
  });

  it('trains to the same losses as the CPU build (the reference workload, same seed, one process each)', () => {
    const losses = (backend: string) => {
      const result = spawnSync(process.execPath, ['--import', 'tsx', 'bench/train-step.ts', '--backend', backend, '--steps', '1', '--warmup', '2'], {
        cwd: projectRoot,
        encoding: 'utf8',
      });
      expect(result.status, result.stderr).toBe(0);
      return (JSON.parse(result.stdout.trim().split('\n').pop()!) as { losses: number[] }).losses;
    };
    const cpuBuild = losses('tensorflow');
    const gpuBuild = losses('tensorflow-gpu');
    // Two warm-up steps, one timed, and the steps the bench profiles for its kernel counts: the same on both builds.
    expect(cpuBuild.length).toBeGreaterThanOrEqual(3);
    expect(gpuBuild).toHaveLength(cpuBuild.length);
    for (let i = 0; i < cpuBuild.length; i++) expect(Math.abs(gpuBuild[i] - cpuBuild[i]) / Math.abs(cpuBuild[i])).toBeLessThan(1e-4);
  }, 300_000);

  it('sliceseq run experiments/quickstart.ts --quick --backend tensorflow-gpu trains through it and records it', async () => {
    const root = mkdtempSync(join(tmpdir(), 'quickstart-gpu-build-'));
    await writeDemoDataset(join(root, 'data'), quickstartDemo);
    const result = spawnSync(
      process.execPath,
      ['bin/sliceseq.js', 'run', 'experiments/quickstart.ts', '--quick', '--data', join(root, 'data'), '--out', join(root, 'runs'), '--backend', 'tensorflow-gpu'],
      { cwd: projectRoot, encoding: 'utf8' },
    );
    expect(result.status, result.stderr.slice(-2000)).toBe(0);
    const [runDir] = readdirSync(join(root, 'runs'));
    const environment = JSON.parse(readFileSync(join(root, 'runs', runDir, 'environment.json'), 'utf8'));
    expect(environment.tensorflow).toEqual({ tensorflow: '2.21.0', path: expect.stringMatching(/tfjs-node-gpu[\\/]deps[\\/]lib$/) });
    if (environment.backend === 'tensorflow') {
      // No GPU: said once, and no GPU recorded.
      expect(result.stderr.match(/tensorflow-gpu sees no GPU/g)).toHaveLength(1);
      expect(environment.gpu).toBeUndefined();
    } else {
      expect(environment.gpu).toMatchObject({ cuda: { builtWith: '12.5.1' } });
    }
  }, 600_000);
});
