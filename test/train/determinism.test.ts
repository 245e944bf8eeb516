import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runExperiment } from '../../src/experiments/run.ts';
import { tinyDemoData, tinyExperiment } from './helpers.ts';
import { testBackends } from '../helpers/backend.ts';

const history = (runDir: string) => readFileSync(join(runDir, 'history.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));

describe.each(testBackends)('determinism on %s: one seed fixes weights, data order, augmentation and dropout', (backend) => {
  let data: string;
  let root: string;
  beforeAll(async () => {
    ({ root, data } = await tinyDemoData());
  });

  it('two runs with the same seed give identical losses and metrics; another seed does not', async () => {
    const experiment = tinyExperiment(data, { backend, train: { epochs: 3, batchSize: 4 } });
    const first = await runExperiment(experiment, { out: join(root, 'a') });
    const tensorsAfterFirst = tf.memory().numTensors;
    const second = await runExperiment(experiment, { out: join(root, 'b') });
    const other = await runExperiment(experiment, { out: join(root, 'c'), seed: 4 });

    const [h1, h2, h3] = [first, second, other].map((run) => history(run.runDir));
    expect(h1.map((e) => e.train_loss)).toEqual(h2.map((e) => e.train_loss));
    expect(h1.map((e) => e.val.loss)).toEqual(h2.map((e) => e.val.loss));
    expect(second.metrics).toEqual(first.metrics);
    expect(h3.map((e) => e.train_loss)).not.toEqual(h1.map((e) => e.train_loss));
    // Tensors do not pile up across runs (the model and optimizer are disposed at the end of each).
    expect(tf.memory().numTensors).toBe(tensorsAfterFirst);
  });

  it('the tensor count stays flat from epoch to epoch', async () => {
    const run = await runExperiment(tinyExperiment(data, { backend, train: { epochs: 3, batchSize: 4 } }), { out: join(root, 'd') });
    const records = history(run.runDir);
    const counts = records.map((e) => e.tensors);
    expect(counts).toHaveLength(3);
    expect(new Set(counts).size).toBe(1);
    // Each epoch's time is recorded: wall clock, training throughput and the fraction spent waiting for data.
    for (const record of records) {
      expect(record.epoch_seconds).toBeGreaterThan(0);
      expect(record.train_seconds).toBeGreaterThan(0);
      expect(record.epoch_seconds).toBeGreaterThanOrEqual(record.train_seconds);
      expect(record.train_slices_per_second).toBeGreaterThan(0);
      expect(record.data_wait_fraction).toBeGreaterThanOrEqual(0);
      expect(record.data_wait_fraction).toBeLessThanOrEqual(1);
    }
  });
});
