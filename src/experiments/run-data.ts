import { loadDataset } from '../data/datasets/registry.ts';
import type { Dataset } from '../data/datasets/types.ts';
import { dataFingerprint } from '../data/fingerprint.ts';
import { scanIndexDir } from '../data/datasets/scan.ts';
import type { RunEnvironment } from '../runs/environment.ts';
import type { Experiment } from './config.ts';

/**
 * What a run records about its data (environment.json `data`): where it was read from, the root as absolute and as
 * given, and the fingerprint of the training dataset and any external test set (data/fingerprint.ts), which
 * `--resume`, cross-validation and ablations compare before reusing anything.
 */
export async function runDataRecord(experiment: Experiment, dataset: Dataset, external: Dataset | undefined, givenRoot: string | undefined): Promise<RunEnvironment['data']> {
  const root = experiment.data.dataset.root;
  return {
    source: dataset.source,
    ...(typeof root === 'string' ? { root, ...(givenRoot !== undefined && givenRoot !== root ? { rootAsGiven: givenRoot } : {}) } : {}),
    fingerprint: await dataFingerprint([dataset.patients, ...(external ? [external.patients] : [])], {
      labels: true,
      listed: [dataset.listed, external?.listed],
      cacheDir: scanIndexDir((experiment.data.dataset as { cacheDir?: string | null }).cacheDir, experiment.data.indexDir),
    }),
    patients: dataset.patients.length,
  };
}

/** The fingerprint a run of `experiment` would record now (its datasets loaded as the runner loads them). */
export async function currentDataFingerprint(experiment: Experiment): Promise<string> {
  const dataset = await loadDataset(experiment.data.dataset, { cacheDir: experiment.data.indexDir });
  const test = experiment.split.test;
  const external = typeof test === 'number' ? undefined : await loadDataset(test, { cacheDir: experiment.data.cacheDir });
  return (await runDataRecord(experiment, dataset, external, undefined)).fingerprint;
}
