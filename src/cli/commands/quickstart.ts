import type { Command } from 'commander';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { log } from '../../core/log.ts';
import { projectRoot } from '../../core/version.ts';
import { addSharedOptions, type SharedOptions } from '../options.ts';
import { runCommand } from './run.ts';

/** The demo data the quickstart trains on: enough patients for the reference model to learn in minutes. */
export const quickstartDemo = { patients: 200, seed: 0, slices: [8, 12] as [number, number], size: 48 };

interface QuickstartOptions extends SharedOptions {
  data: string;
  out: string;
  quick?: boolean;
}

/**
 * Writes the demo data unless the folder already holds it; a folder holding anything else is refused (the demo
 * would be mixed into it).
 */
async function ensureDemoData(dir: string): Promise<void> {
  const { DEMO_MANIFEST, DEMO_TRAIN_CSV, writeDemoDataset } = await import('../../data/demo/dataset.ts');
  if (existsSync(join(dir, DEMO_TRAIN_CSV))) return;
  const existing = existsSync(dir) ? readdirSync(dir) : [];
  if (existing.length > 0 && !existing.includes(DEMO_MANIFEST)) {
    throw new Error(`--data ${dir} holds files but no ${DEMO_TRAIN_CSV} (it holds ${existing.slice(0, 5).join(', ')}); the quickstart writes its demo data only to an empty or new folder: pass another --data`);
  }
  log.info(`writing demo data to ${dir} (${quickstartDemo.patients} patients of ${quickstartDemo.size}x${quickstartDemo.size}, seed ${quickstartDemo.seed})`);
  await writeDemoDataset(dir, quickstartDemo);
}

export function registerQuickstart(program: Command): void {
  const command = program
    .command('quickstart')
    .description('the main job: write the demo head-CT data if missing, then train and evaluate experiments/quickstart.ts')
    .option('--data <dir>', 'demo data folder', 'demo-data')
    .option('--out <dir>', 'parent folder of run directories', 'runs')
    .option('--quick', 'the quick (smoke-test) size');
  addSharedOptions(command, {
    backend: {}, threads: {}, workers: {}, set: {}, seed: {}, resume: {}, allowChanges: {},
    force: { help: 'replace a run that `sliceseq run` (not the quickstart) left in the run directory (a quickstart run is always replaced)' },
  });
  command.action(async (options: QuickstartOptions) => {
    await ensureDemoData(options.data);
    // A run the quickstart started is replaced on the next quickstart; any other run only with --force.
    await runCommand(join(projectRoot, 'experiments', 'quickstart.ts'), {
      ...options,
      force: options.force ? true : options.resume || options.resumeOrStart ? undefined : 'own-runs',
      command: 'quickstart',
    });
  });
}
