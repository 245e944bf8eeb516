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
  /** Where window, CLAHE and resize run: sliceseq's native kernels (`npm run native`) or JavaScript and OpenCV WebAssembly. */
  preprocessing: string;
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
    preprocessing: await preprocessingReport(),
    ...(active ? { active: { kind: active.kind, device: active.device, threads: active.threads, ...(active.library ? { library: active.library } : {}) } } : {}),
  };
}

async function preprocessingReport(): Promise<string> {
  const { NATIVE_KERNELS_PATH, nativeKernels } = await import('../../data/transforms/native-kernels.ts');
  const kernels = nativeKernels();
  if (kernels) return `native kernels on OpenCV ${kernels.opencvVersion} (${NATIVE_KERNELS_PATH})`;
  const why = process.env.SLICESEQ_NATIVE_KERNELS === '0' ? 'SLICESEQ_NATIVE_KERNELS=0' : 'native kernels not built: npm run native, with libopencv-imgproc-dev';
  return `JavaScript and OpenCV WebAssembly (${why}; the same bytes, slower)`;
}

export function registerEnv(program: Command): void {
  const command = program
    .command('env')
    .description('versions of Node and tfjs, each backend’s availability (and why not), threads')
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
    const lines = [
      `sliceseq ${report.sliceseq}`,
      `node     ${report.node} (${report.platform}, ${report.cpus} CPUs)`,
      `tfjs     ${report.tfjs}`,
      'backends (auto picks the first available):',
      ...report.backends.map((b) => `  ${b.available ? '✓' : '✗'} ${b.backend.padEnd(15)} ${b.detail}`),
      `cuda     ${report.cuda.summary} (needed by @tensorflow/tfjs-node-gpu 4.22: CUDA 11.2, cuDNN 8.1)`,
      `kernels  preprocessing: ${report.preprocessing}`,
      `active   ${active.kind}: ${active.device}, ${active.threads} thread${active.threads === 1 ? '' : 's'}`,
      ...(active.library ? [`         TensorFlow ${active.library.tensorflow} from ${active.library.path}`] : []),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  });
}
