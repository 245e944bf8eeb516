import type { Command } from 'commander';
import type { GradientParityReport, ParityBackend, ParityResult } from '../../backend/gradient-parity.ts';
import { positiveNumber, wholeNumber } from '../options.ts';

function formatError(value: number): string {
  return Number.isFinite(value) ? value.toExponential(2) : String(value);
}

function verdict(result: ParityResult): string {
  return result.pass ? 'ok' : 'FAIL';
}

/** One line per convolution case (input and filter gradients), then one per weight of the tiny model. */
export function formatParityReport(report: GradientParityReport): string {
  const width = Math.max(28, ...report.cases.map((c) => c.name.length + 2));
  const lines = [
    `gradient parity: ${report.candidate} vs ${report.reference}, relative error ‖${report.candidate} − ${report.reference}‖ / ‖${report.reference}‖, passes below ${report.tolerance}`,
    `${'case'.padEnd(width)}${'d input'.padStart(10)}${'d filter'.padStart(10)}  result`,
  ];
  for (const result of report.cases) {
    const error = (gradient: string) => formatError(result.errors.find((e) => e.gradient === gradient)?.relativeError ?? Number.NaN);
    lines.push(`${result.name.padEnd(width)}${error('input').padStart(10)}${error('filter').padStart(10)}  ${verdict(result)}`);
  }
  if (report.model) {
    lines.push(`${report.model.name} (weight gradients)`);
    for (const e of report.model.errors) {
      lines.push(`  ${e.gradient.padEnd(width - 2)}${formatError(e.relativeError).padStart(10)}${''.padStart(10)}  ${e.relativeError < report.tolerance ? 'ok' : 'FAIL'}`);
    }
  }
  const failed = [...report.cases, ...(report.model ? [report.model] : [])].filter((r) => !r.pass).map((r) => r.name);
  lines.push(failed.length === 0 ? `PASS: all ${report.cases.length} cases${report.model ? ' and the model' : ''} agree` : `FAIL: ${failed.join(', ')}`);
  return lines.join('\n');
}

export function registerCheckGradients(program: Command): void {
  program
    .command('check-gradients')
    .description('one-step gradient parity of convolutions (and a tiny conv model) on the wasm and native backends against the cpu backend')
    .option('--backend <name>', 'wasm, tensorflow, or every one that loads here (default)')
    .option('--tolerance <relative>', 'largest relative error that passes', positiveNumber('--tolerance'), 1e-4)
    .option('--seed <n>', 'seed of the random inputs', wholeNumber('--seed', 0), 7)
    .option('--no-model', 'skip the tiny layers model')
    .option('--json', 'print the report as JSON')
    .action(async (options: { tolerance: number; seed: number; model: boolean; json?: boolean; backend?: string }) => {
      if (options.backend && options.backend !== 'wasm' && options.backend !== 'tensorflow') throw new Error(`--backend: expected wasm or tensorflow, got '${options.backend}'`);
      const { checkGradientParity } = await import('../../backend/gradient-parity.ts');
      const { initBackend, probeBackends } = await import('../../backend/select.ts');
      const native = probeBackends().some((probe) => probe.kind === 'tensorflow' && probe.available);
      const candidates: ParityBackend[] = options.backend ? [options.backend as ParityBackend] : native ? ['tensorflow', 'wasm'] : ['wasm'];
      const reports: GradientParityReport[] = [];
      for (const candidate of candidates) {
        if (candidate === 'tensorflow') await initBackend('tensorflow', { quiet: true });
        reports.push(await checkGradientParity({ tolerance: options.tolerance, seed: options.seed, includeModel: options.model, candidate }));
      }
      process.stdout.write(`${options.json ? JSON.stringify(reports.length === 1 ? reports[0] : reports, null, 2) : reports.map(formatParityReport).join('\n\n')}\n`);
      if (reports.some((report) => !report.pass)) process.exitCode = 1;
    });
}
