import type { Command } from 'commander';
import * as tf from '@tensorflow/tfjs';
import { cpus } from 'node:os';
import { backendPreferences, gpuBuildDevices, initBackend, nativePackage, probeBackends, type BackendChoice, type BackendPreference } from '../../backend/select.ts';
import { cudaPreflight } from '../../backend/cuda-preflight.ts';
import { packageVersion } from '../../core/version.ts';
import { NATIVE_KERNELS_PATH, nativeKernels } from '../../data/transforms/native-kernels.ts';
import { parseThreads } from '../options.ts';

export interface EnvironmentReport {
  sliceseq: string;
  node: string;
  platform: string;
  tfjs: string;
  cpus: number;
  backends: Array<{ backend: string; available: boolean; detail: string }>;
  cuda: { ok: boolean; missing: string[]; summary: string };
  /** The CUDA 12 build (`npm run native -- --gpu`): the devices TensorFlow creates, or why it sees no GPU. */
  gpuBuild?: { tensorflow: string; gpus: Array<{ name: string; computeCapability: string; memoryMiB: number }>; driver: string | null; noGpuReason: string | null };
  /** Where window, CLAHE and resize run: sliceseq's native kernels (`npm run native`) or JavaScript and OpenCV WebAssembly. */
  preprocessing: string;
  /** What `auto` (or --backend) really activates here: the backend, its device, TF library and threads. */
  active?: Pick<BackendChoice, 'kind' | 'device' | 'threads' | 'library'>;
}

export function environmentReport(active?: BackendChoice): EnvironmentReport {
  const preflight = cudaPreflight();
  return {
    sliceseq: packageVersion(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    tfjs: tf.version.tfjs,
    cpus: cpus().length,
    backends: probeBackends().map((probe) => ({ backend: probe.kind, available: probe.available, detail: probe.detail })),
    cuda: { ok: preflight.ok, missing: preflight.missing, summary: preflight.summary },
    ...gpuBuildReport(),
    preprocessing: preprocessingReport(),
    ...(active ? { active: { kind: active.kind, device: active.device, threads: active.threads, ...(active.library ? { library: active.library } : {}) } } : {}),
  };
}

function gpuBuildReport(): Pick<EnvironmentReport, 'gpuBuild'> {
  const found = nativePackage('@tensorflow/tfjs-node-gpu');
  if (!found.installed || !found.built || !found.cuda12) return {};
  let probe: ReturnType<typeof gpuBuildDevices>;
  try {
    probe = gpuBuildDevices();
  } catch (error) {
    const reason = (error instanceof Error ? error.message : String(error)).replaceAll('\n', ' | ');
    return { gpuBuild: { tensorflow: 'unknown', gpus: [], driver: null, noGpuReason: `${reason} (npm run native -- --gpu --force rebuilds it)` } };
  }
  const gpus = probe.gpus.map(({ name, computeCapability, memoryMiB }) => ({ name, computeCapability, memoryMiB }));
  return { gpuBuild: { tensorflow: probe.tensorflow, gpus, driver: probe.driver, noGpuReason: probe.noGpuReason } };
}

function preprocessingReport(): string {
  const kernels = nativeKernels();
  if (kernels) return `native kernels on OpenCV ${kernels.opencvVersion} (${NATIVE_KERNELS_PATH})`;
  const why = process.env.SLICESEQ_NATIVE_KERNELS === '0' ? 'SLICESEQ_NATIVE_KERNELS=0' : 'native kernels not built: npm run native, with libopencv-imgproc-dev';
  return `JavaScript and OpenCV WebAssembly (${why}; the same bytes, slower)`;
}

export function registerEnv(program: Command): void {
  program
    .command('env')
    .description('versions of Node and tfjs, each backend’s availability (and why not), threads')
    .option('--json', 'print JSON')
    .option('--backend <name>', `backend to activate: ${backendPreferences.join('|')}`, 'auto')
    .option('--threads <n>', "TensorFlow's intra-op threads for a native backend", (value: string) => parseThreads(value, '--threads'))
    .action(async (options: { json?: boolean; backend: BackendPreference; threads?: number }) => {
      const active = await initBackend(options.backend, { quiet: true, threads: options.threads });
      const report = environmentReport(active);
      if (options.json) {
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        return;
      }
      const lines = [
        `sliceseq ${report.sliceseq}`,
        `node     ${report.node} (${report.platform}, ${report.cpus} CPUs)`,
        `tfjs     ${report.tfjs}`,
        'backends (auto picks the first available):',
        ...report.backends.map((b) => `  ${b.available ? '✓' : '✗'} ${b.backend.padEnd(15)} ${b.detail}`),
        ...(report.gpuBuild
          ? [
              `gpu      CUDA 12 build (TensorFlow ${report.gpuBuild.tensorflow}, npm run native -- --gpu) places ops on: ` +
                (report.gpuBuild.gpus.length > 0
                  ? report.gpuBuild.gpus.map((g) => `${g.name} (compute capability ${g.computeCapability}, ${(g.memoryMiB / 1024).toFixed(1)} GiB)`).join(', ') +
                    `, driver ${report.gpuBuild.driver ?? 'unknown'}`
                  : `the CPU only, no GPU: ${report.gpuBuild.noGpuReason}`),
            ]
          : [`cuda     ${report.cuda.summary} (needed by the stock @tensorflow/tfjs-node-gpu 4.22: CUDA 11.2, cuDNN 8.1)`]),
        `kernels  preprocessing: ${report.preprocessing}`,
        `active   ${active.kind}: ${active.device}, ${active.threads} thread${active.threads === 1 ? '' : 's'}`,
        ...(active.library ? [`         TensorFlow ${active.library.tensorflow} from ${active.library.path}`] : []),
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
