import { log } from '../../core/log.ts';
import { Registry } from '../../core/registry.ts';
import type { Dataset, DatasetContext } from './types.ts';
import { rsnaIchDataset } from './rsna-ich.ts';
import { manifestDataset } from './manifest.ts';
import { foldersDataset } from './folders.ts';

/** Datasets by name: `{ name: 'rsna-ich' | 'manifest' | 'folders', ...options }` → a loaded Dataset. */
export const datasets = new Registry<DatasetContext, Promise<Dataset>>('dataset');
datasets.register(rsnaIchDataset);
datasets.register(manifestDataset);
datasets.register(foldersDataset);

export type DatasetConfig = { name: string } & Record<string, unknown>;

/** Validates the config (unknown names and keys are errors naming the field) and loads the dataset. */
export async function loadDataset(config: DatasetConfig, context: DatasetContext = {}): Promise<Dataset> {
  const dataset = await datasets.create(config, context);
  warnOrderFallbacks(dataset);
  return dataset;
}

/**
 * One warning line per patient whose slices are ordered by InstanceNumber or file name only because some of them
 * lack ImagePositionPatient (a few lines, then a count: `sliceseq inspect --dataset` lists every order check).
 */
function warnOrderFallbacks(dataset: Dataset): void {
  const fallbacks = Object.entries(dataset.orderChecks).filter(([, check]) => check.withoutPosition !== undefined);
  const shown = fallbacks.slice(0, 5).map(([id, check]) => `  patient '${id}': ${check.withoutPosition} slice(s) without ImagePositionPatient, so all its slices are ordered by ${check.rule === 'instance' ? 'InstanceNumber' : 'file name'}`);
  if (shown.length === 0) return;
  const more = fallbacks.length > shown.length ? `\n  … and ${fallbacks.length - shown.length} more patients (sliceseq inspect --dataset lists them)` : '';
  log.warn(`${dataset.source}: slices ordered without their position in ${fallbacks.length} patient(s):\n${shown.join('\n')}${more}`);
}
