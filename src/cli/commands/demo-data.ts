import type { Command } from 'commander';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Progress } from '../../core/progress.ts';
import { DEMO_ENTRIES, resolveDemoOptions, writeDemoDataset, type DemoDatasetOptions } from '../../data/demo/dataset.ts';

function integer(name: string) {
  return (text: string): number => {
    const value = Number(text);
    if (!Number.isInteger(value)) throw new Error(`--${name} needs an integer, got '${text}'`);
    return value;
  };
}

/** `--slices 16` (fixed) or `--slices 8-24` (uniform range). */
function sliceCount(text: string): number | [number, number] {
  const match = /^(\d+)(?:[-:](\d+))?$/.exec(text.trim());
  if (!match) throw new Error(`--slices needs N or MIN-MAX, got '${text}'`);
  return match[2] === undefined ? Number(match[1]) : [Number(match[1]), Number(match[2])];
}

interface DemoDataOptions {
  patients: number;
  seed: number;
  size: number;
  slices?: number | [number, number];
  testPatients?: number;
  force?: boolean;
}

/** `sliceseq demo-data DIR`: a seeded synthetic head-CT dataset in the Kaggle RSNA layout (real DICOM files). */
export function registerDemoData(program: Command): void {
  program
    .command('demo-data')
    .description('write a synthetic head-CT phantom dataset (RSNA hemorrhage layout, real DICOM) to DIR')
    .argument('<dir>', 'output folder (must be empty or absent unless --force)')
    .option('--patients <n>', 'labelled patients', integer('patients'), 100)
    .option('--seed <n>', 'random seed', integer('seed'), 0)
    .option('--size <px>', 'pixels per side', integer('size'), 64)
    .option('--slices <n|min-max>', 'slices per patient (default 8-24)', sliceCount)
    .option('--test-patients <n>', 'unlabelled patients in stage_2_test (default: patients / 10, at least 2)', integer('test-patients'))
    .option('--force', 'replace a demo dataset already in DIR')
    .action((dir: string, options: DemoDataOptions) => {
      const config: DemoDatasetOptions = { patients: options.patients, seed: options.seed, size: options.size };
      if (options.slices !== undefined) config.slices = options.slices;
      if (options.testPatients !== undefined) config.testPatients = options.testPatients;
      const resolved = resolveDemoOptions(config);
      const existing = existsSync(dir) ? readdirSync(dir) : [];
      if (existing.length > 0) {
        if (!options.force) throw new Error(`${dir} is not empty; pass --force to replace the demo dataset there`);
        for (const entry of DEMO_ENTRIES) rmSync(join(dir, entry), { recursive: true, force: true });
      }
      const total = resolved.patients + resolved.testPatients;
      const progress = new Progress({ label: 'demo-data', total, unit: 'patient' });
      const summary = writeDemoDataset(dir, config, () => progress.tick());
      progress.finish();
      const positives = Object.entries(summary.positiveSlices)
        .map(([label, count]) => `${label} ${count}`)
        .join(', ');
      process.stdout.write(
        [
          `wrote ${dir}`,
          `  train: ${summary.trainPatients} patients (${summary.abnormalPatients} with hemorrhage), ${summary.trainImages} slices`,
          `  test:  ${summary.testPatients} patients, ${summary.testImages} slices (unlabelled)`,
          `  positive slices: ${positives}`,
        ].join('\n') + '\n',
      );
    });
}
