import type { Command } from 'commander';
import { cpus } from 'node:os';
import type { BackendChoice, BackendPreference } from '../../backend/select.ts';
import { packageVersion } from '../../core/version.ts';
import { addSharedOptions } from '../options.ts';

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
  /** On the native CPU package: sliceseq's TensorFlow ops (native/tf-ops) that the fused kernels run, or why none. */
  tfOps?: string;
  /** What `auto` (or --backend) really activates here: the backend, its device, TF library and threads. */
  active?: Pick<BackendChoice, 'kind' | 'device' | 'threads' | 'library'>;
}

export async function environmentReport(active?: BackendChoice): Promise<EnvironmentReport> {
  const tf = await import('@tensorflow/tfjs');
  const { probeBackends } = await import('../../backend/select.ts');
  const { cudaPreflight } = await import('../../backend/cuda-preflight.ts');
  const preflight = cudaPreflight();
  return {
    sliceseq: packageVersion(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    tfjs: tf.version.tfjs,
    cpus: cpus().length,
    backends: probeBackends().map((probe) => ({ backend: probe.kind, available: probe.available, detail: probe.detail })),
    cuda: { ok: preflight.ok, missing: preflight.missing, summary: preflight.summary },
    ...(await gpuBuildReport()),
    preprocessing: await preprocessingReport(),
    ...(active?.kind === 'tensorflow' ? { tfOps: await tfOpsReport() } : {}),
    ...(active ? { active: { kind: active.kind, device: active.device, threads: active.threads, ...(active.library ? { library: active.library } : {}) } } : {}),
  };
}

async function gpuBuildReport(): Promise<Pick<EnvironmentReport, 'gpuBuild'>> {
  const { gpuBuildDevices, nativePackage } = await import('../../backend/select.ts');
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

async function preprocessingReport(): Promise<string> {
  const { NATIVE_KERNELS_PATH, nativeKernels } = await import('../../data/transforms/native-kernels.ts');
  const kernels = nativeKernels();
  if (kernels) return `native kernels on OpenCV ${kernels.opencvVersion} (${NATIVE_KERNELS_PATH})`;
  const why = process.env.SLICESEQ_NATIVE_KERNELS === '0' ? 'SLICESEQ_NATIVE_KERNELS=0' : 'native kernels not built: npm run native, with libopencv-imgproc-dev';
  return `JavaScript and OpenCV WebAssembly (${why}; the same bytes, slower)`;
}

async function tfOpsReport(): Promise<string> {
  const { sliceseqOps, sliceseqOpsProblem } = await import('../../backend/sliceseq-ops.ts');
  const problem = sliceseqOpsProblem();
  if (problem) return `none, ${problem}; the fused kernels run TensorFlow's own ops`;
  return `${sliceseqOps().join(', ')}${process.env.SLICESEQ_TF_OPS === '0' ? " (loaded, off: SLICESEQ_TF_OPS=0; the fused kernels run TensorFlow's own ops)" : ''}`;
}

export function registerEnv(program: Command): void {
  const command = program
    .command('env')
    .description('versions of Node and tfjs, each backend’s availability (and why not), the GPUs the CUDA 12 build sees, threads')
    .option('--json', 'print JSON');
  addSharedOptions(command, {
    backend: { help: 'backend to activate (default auto)' },
    threads: { help: "TensorFlow's intra-op threads for a native backend" },
    workers: { refuse: 'env decodes no data' },
    set: { refuse: 'env reads no experiment' },
    seed: { refuse: 'env draws nothing at random' },
    resume: { refuse: 'env starts no run' },
    force: { refuse: 'env writes nothing' },
    allowChanges: { refuse: 'env starts no run' },
  });
  command.action(async (options: { json?: boolean; backend?: BackendPreference; threads?: number }) => {
    const { initBackend } = await import('../../backend/select.ts');
    const active = await initBackend(options.backend ?? 'auto', { quiet: true, threads: options.threads });
    const report = await environmentReport(active);
    if (options.json) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      return;
    }
    const gpu = report.gpuBuild;
    const lines = [
      `sliceseq ${report.sliceseq}`,
      `node     ${report.node} (${report.platform}, ${report.cpus} CPUs)`,
      `tfjs     ${report.tfjs}`,
      'backends (auto picks the first available):',
      ...report.backends.map((b) => `  ${b.available ? '✓' : '✗'} ${b.backend.padEnd(15)} ${b.detail}`),
      gpu
        ? `gpu      CUDA 12 build (TensorFlow ${gpu.tensorflow}, npm run native -- --gpu) places ops on: ` +
          (gpu.gpus.length > 0
            ? gpu.gpus.map((g) => `${g.name} (compute capability ${g.computeCapability}, ${(g.memoryMiB / 1024).toFixed(1)} GiB)`).join(', ') + `, driver ${gpu.driver ?? 'unknown'}`
            : `the CPU only, no GPU: ${gpu.noGpuReason}`)
        : `cuda     ${report.cuda.summary} (needed by the stock @tensorflow/tfjs-node-gpu 4.22: CUDA 11.2, cuDNN 8.1)`,
      `kernels  preprocessing: ${report.preprocessing}`,
      ...(report.tfOps ? [`         TensorFlow ops of ours: ${report.tfOps}`] : []),
      `active   ${active.kind}: ${active.device}, ${active.threads} thread${active.threads === 1 ? '' : 's'}`,
      ...(active.library ? [`         TensorFlow ${active.library.tensorflow} from ${active.library.path}`] : []),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  });
}
