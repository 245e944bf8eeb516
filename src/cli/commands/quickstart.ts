import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { log } from '../../core/log.ts';
import { projectRoot } from '../../core/version.ts';
import { DEMO_TRAIN_CSV, writeDemoDataset } from '../../data/demo/dataset.ts';
import { runCommand } from './run.ts';

/** The demo data the quickstart trains on: enough patients for the reference model to learn in minutes. */
export const quickstartDemo = { patients: 200, seed: 0, slices: [8, 12] as [number, number], size: 48 };

export function registerQuickstart(program: Command): void {
  program
    .command('quickstart')
    .description('the main job: write the demo head-CT data if missing, then train and evaluate experiments/quickstart.ts')
    .option('--data <dir>', 'demo data folder', 'demo-data')
    .option('--out <dir>', 'parent folder of run directories', 'runs')
    .option('--quick', 'the quick (smoke-test) size')
    .action(async (options: { data: string; out: string; quick?: boolean }) => {
      if (!existsSync(join(options.data, DEMO_TRAIN_CSV))) {
        log.info(`writing demo data to ${options.data} (${quickstartDemo.patients} patients of ${quickstartDemo.size}x${quickstartDemo.size}, seed ${quickstartDemo.seed})`);
        await writeDemoDataset(options.data, quickstartDemo);
      }
      await runCommand(join(projectRoot, 'experiments', 'quickstart.ts'), { data: options.data, out: options.out, set: [], quick: options.quick, force: true });
    });
}
