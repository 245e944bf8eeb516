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
  return datasets.create(config, context);
}
