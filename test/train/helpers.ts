import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeDemoDataset } from '../../src/data/demo/dataset.ts';
import { defineExperiment, type ExperimentInput } from '../../src/experiments/config.ts';
import { defaultTestBackend } from '../helpers/backend.ts';

/** A tiny demo dataset (16 patients × 4 slices of 32×32) in a fresh temporary folder. */
export async function tinyDemoData(): Promise<{ root: string; data: string }> {
  const root = mkdtempSync(join(tmpdir(), 'sliceseq-run-'));
  const data = join(root, 'data');
  await writeDemoDataset(data, { patients: 16, seed: 1, slices: 4, size: 32, testPatients: 0 });
  return { root, data };
}

/** The reference design at toy size: fast enough to train a few epochs in a test. */
export function tinyExperiment(data: string, overrides: Partial<ExperimentInput> = {}): ExperimentInput {
  return defineExperiment({
    name: 'tiny',
    seed: 3,
    backend: defaultTestBackend,
    data: {
      dataset: { name: 'rsna-ich', root: data, cacheDir: null },
      preprocess: [{ name: 'window', windows: ['brain', 'subdural', 'bone'] }, { name: 'flip', horizontal: 0.5 }],
    },
    split: { test: 0.25, folds: 3, fold: 0 },
    model: {
      backbone: { name: 'small-vgg', channels: [4, 8], convsPerBlock: 1 },
      encoder: { name: 'gru', hidden: 8, dropout: 0.2 },
      decoder: { name: 'lstm', hidden: 4 },
    },
    optimizer: { name: 'adam', lr: 0.01 },
    schedule: { name: 'cosine' },
    train: { epochs: 2, batchSize: 4 },
    ...overrides,
  });
}
