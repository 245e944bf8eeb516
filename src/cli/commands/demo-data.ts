import type { Command } from 'commander';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { wholeNumber } from '../options.ts';

/** `--slices 16` (fixed) or `--slices 8-24` (uniform range). */
function sliceCount(text: string): number | [number, number] {
  const match = /^(\d+)(?:[-:](\d+))?$/.exec(text.trim());
  if (!match) throw new Error(`--slices needs N or MIN-MAX, got '${text}'`);
  return match[2] === undefined ? Number(match[1]) : [Number(match[1]), Number(match[2])];
}

interface DemoDataOptions {
  kind: string;
  patients?: number;
  seed: number;
  size?: number;
  slices?: number | [number, number];
  testPatients?: number;
  force?: boolean;
}

const DEFAULT_PATIENTS = 100;

/**
 * Readies `dir` for a demo dataset: absent or empty, or (with --force) a demo dataset sliceseq wrote, recognised by
 * its `manifest` file, whose demo entries are deleted; other files stay. A folder without that file is never
 * touched (it may be a real dataset laid out under the same Kaggle names).
 */
export function prepareDemoFolder(dir: string, entries: readonly string[], manifest: string, force: boolean | undefined): void {
  const existing = existsSync(dir) ? readdirSync(dir) : [];
  if (existing.length === 0) return;
  if (!force) throw new Error(`${dir} is not empty; pass --force to replace the demo dataset there`);
  if (!existing.includes(manifest)) {
    const shown = existing.slice(0, 5).join(', ') + (existing.length > 5 ? `, … (${existing.length} entries)` : '');
    throw new Error(`--force: ${dir} holds no ${manifest}, so it is not a demo dataset sliceseq wrote (it holds ${shown}); --force replaces only demo data: choose an empty or new folder`);
  }
  for (const entry of entries) rmSync(join(dir, entry), { recursive: true, force: true });
}

/** The head-CT phantom in the Kaggle RSNA layout (real DICOM files). */
async function writeRsnaDemo(dir: string, options: DemoDataOptions): Promise<string[]> {
  const { DEMO_ENTRIES, DEMO_MANIFEST, resolveDemoOptions, writeDemoDataset } = await import('../../data/demo/dataset.ts');
  const { Progress } = await import('../../core/progress.ts');
  const config: Parameters<typeof resolveDemoOptions>[0] = { patients: options.patients ?? DEFAULT_PATIENTS, seed: options.seed };
  if (options.size !== undefined) config.size = options.size;
  if (options.slices !== undefined) config.slices = options.slices;
  if (options.testPatients !== undefined) config.testPatients = options.testPatients;
  const resolved = resolveDemoOptions(config);
  prepareDemoFolder(dir, DEMO_ENTRIES, DEMO_MANIFEST, options.force);
  const progress = new Progress({ label: 'demo-data', total: resolved.patients + resolved.testPatients, unit: 'patient' });
  const summary = writeDemoDataset(dir, config, () => progress.tick());
  progress.finish();
  const positives = Object.entries(summary.positiveSlices)
    .map(([label, count]) => `${label} ${count}`)
    .join(', ');
  return [
    `wrote ${dir}`,
    `  train: ${summary.trainPatients} patients (${summary.abnormalPatients} with hemorrhage), ${summary.trainImages} slices`,
    `  test:  ${summary.testPatients} patients, ${summary.testImages} slices (unlabelled; their labels, split Public/Private, in solution.csv)`,
    `  positive slices: ${positives}`,
  ];
}

/** One of the manifest kinds (PNG slices and manifest.csv). */
async function writeManifestKind(dir: string, options: DemoDataOptions): Promise<string[]> {
  const { manifestDemoKinds } = await import('../../data/demo/kinds.ts');
  const { MANIFEST_DEMO_ENTRIES, MANIFEST_GROUND_TRUTH } = await import('../../data/demo/manifest-demo.ts');
  const { Progress } = await import('../../core/progress.ts');
  const writer = manifestDemoKinds[options.kind];
  if (options.testPatients !== undefined) throw new Error(`--test-patients applies to --kind rsna-ich only (the ${options.kind} demo has no unlabelled test set)`);
  const patients = options.patients ?? writer.defaults.patients ?? DEFAULT_PATIENTS;
  const config: Parameters<typeof writer.resolve>[0] = { patients, seed: options.seed };
  if (options.size !== undefined) config.size = options.size;
  if (options.slices !== undefined) config.slices = options.slices;
  writer.resolve(config); // bad options fail before the folder is touched
  prepareDemoFolder(dir, writer.entries ?? MANIFEST_DEMO_ENTRIES, MANIFEST_GROUND_TRUTH, options.force);
  const progress = new Progress({ label: `demo-data ${options.kind}`, total: patients, unit: 'patient' });
  const summary = await writer.write(dir, config, () => progress.tick());
  progress.finish();
  const counts = Object.entries(summary.counts).map(
    ([column, values]) => `${column} ${Object.entries(values).map(([value, n]) => `${value}:${n}`).join(' ')}`,
  );
  return [`wrote ${dir} (${writer.description})`, `  ${summary.patients} patients, ${summary.images} slices`, `  patients per label value: ${counts.join(', ')}`];
}

/** `sliceseq demo-data DIR [--kind rsna-ich|organs|ordinal|chest]`: seeded synthetic datasets to try every label kind on. */
export function registerDemoData(program: Command): void {
  program
    .command('demo-data')
    .description(
      'write a seeded synthetic dataset to DIR: rsna-ich (default; head-CT phantom, RSNA hemorrhage layout, real DICOM), ' +
        'organs (abdominal CT: binary signs + healthy/low/high organ injury), ordinal (4 damage types graded 0-3), ' +
        'chest (X-rays with the 14 ChestX-ray14 findings), dense-ordinal (skin images, 4 damage types graded 0-3 per pixel as mask PNGs); ' +
        'the last four as PNG slices with a manifest.csv',
    )
    .argument('<dir>', 'output folder (must be empty or absent unless --force)')
    .option('--kind <kind>', 'which dataset: one of the kinds above', 'rsna-ich')
    .option('--patients <n>', `labelled patients (default ${DEFAULT_PATIENTS}; 200 images for dense-ordinal)`, wholeNumber('--patients', 1))
    .option('--seed <n>', 'random seed', wholeNumber('--seed', 0), 0)
    .option('--size <px>', 'pixels per side (default: 64 for rsna-ich and chest, 48 for organs and ordinal)', wholeNumber('--size', 1))
    .option('--slices <n|min-max>', 'slices per patient (default: 8-24 rsna-ich, 4 organs, 3 ordinal, 1 chest)', sliceCount)
    .option('--test-patients <n>', 'rsna-ich only: unlabelled patients in stage_2_test (default: patients / 10, at least 2)', wholeNumber('--test-patients', 0))
    .option('--force', 'replace a demo dataset already in DIR (one holding demo-manifest.json; nothing else is deleted)')
    .action(async (dir: string, options: DemoDataOptions) => {
      const { demoKindNames } = await import('../../data/demo/kinds.ts');
      if (!demoKindNames.includes(options.kind)) throw new Error(`--kind must be one of ${demoKindNames.join(', ')}, got '${options.kind}'`);
      const lines = options.kind === 'rsna-ich' ? await writeRsnaDemo(dir, options) : await writeManifestKind(dir, options);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
