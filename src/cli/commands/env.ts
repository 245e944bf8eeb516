import type { Command } from 'commander';
import * as tf from '@tensorflow/tfjs';
import { cpus } from 'node:os';
import { probeBackends } from '../../backend/select.ts';
import { cudaPreflight } from '../../backend/cuda-preflight.ts';
import { packageVersion } from '../../core/version.ts';

export interface EnvironmentReport {
  sliceseq: string;
  node: string;
  platform: string;
  tfjs: string;
  cpus: number;
  backends: Array<{ backend: string; available: boolean; detail: string }>;
  cuda: { ok: boolean; missing: string[] };
}

export function environmentReport(): EnvironmentReport {
  const preflight = cudaPreflight();
  return {
    sliceseq: packageVersion(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    tfjs: tf.version.tfjs,
    cpus: cpus().length,
    backends: probeBackends().map((probe) => ({ backend: probe.kind, available: probe.available, detail: probe.detail })),
    cuda: { ok: preflight.ok, missing: preflight.missing },
  };
}

export function registerEnv(program: Command): void {
  program
    .command('env')
    .description('versions of Node and tfjs, each backend’s availability (and why not), threads')
    .option('--json', 'print JSON')
    .action((options: { json?: boolean }) => {
      const report = environmentReport();
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
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
