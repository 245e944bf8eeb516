import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setLogLevel } from '../../src/core/log.ts';
import { loadDataset } from '../../src/data/datasets/registry.ts';
import { writeDemoDataset } from '../../src/data/demo/dataset.ts';
import { sliceId } from '../../src/data/patients.ts';
import { runExperiment } from '../../src/experiments/run.ts';
import { resolveExperiment } from '../../src/experiments/resolve.ts';
import { readPredictionsFile } from '../../src/runs/predictions.ts';
import { readEnvironment } from '../../src/runs/environment.ts';
import { tinyExperiment } from '../train/helpers.ts';

/** `split.test` naming a labelled dataset: the competition's test folder with its released labels (demo: solution.csv). */
let root: string;
let data: string;
beforeAll(() => {
  setLogLevel('error');
  root = mkdtempSync(join(tmpdir(), 'sliceseq-external-'));
  data = join(root, 'data');
  writeDemoDataset(data, { patients: 10, seed: 8, slices: [3, 5], size: 32, testPatients: 3 });
});
afterAll(() => {
  setLogLevel('info');
  rmSync(root, { recursive: true, force: true });
});

const testSet = () => ({ name: 'rsna-ich', root: data, split: 'test', labelsCsv: 'solution.csv', cacheDir: null });

describe('an external labelled test set', () => {
  it('tests on every slice of its patients and puts every training patient into the folds', async () => {
    const experiment = tinyExperiment(data, { train: { epochs: 1, batchSize: 4 }, split: { test: testSet(), folds: 3, fold: 1 } });
    experiment.data = { ...experiment.data!, level: 'slice', maxSlices: 2 };
    const result = await runExperiment(experiment, { out: join(root, 'runs'), report: false });
    const external = await loadDataset(testSet());
    const environment = readEnvironment(result.runDir) as { split: { train: string[]; val: string[]; test: string[] } };
    expect(environment.split.test).toEqual(external.patients.map((p) => p.id));
    expect(environment.split.train.length + environment.split.val.length).toBe(10);
    const predictions = await readPredictionsFile(join(result.runDir, 'predictions-test.csv'));
    expect(new Set(predictions.ids)).toEqual(new Set(external.patients.flatMap((p) => p.slices.map(sliceId))));
    const solution = readFileSync(join(data, 'solution.csv'), 'utf8');
    const row = predictions.ids.indexOf(external.patients[0].slices[0].id!);
    const truth = predictions.select(['any']).targets();
    expect(solution).toContain(`${predictions.ids[row]}_any,${truth.data[row]},`);
    expect(result.metrics.test!.rows).toBe(predictions.ids.length);
  }, 120_000);

  it('is refused when unlabelled, labelled otherwise, or sharing patients with the training data', async () => {
    const run = (test: { name: string } & Record<string, unknown>) => runExperiment(tinyExperiment(data, { train: { epochs: 1, batchSize: 4 }, split: { test, folds: 3, fold: 0 } }), { out: join(root, 'refused'), report: false });
    await expect(run({ ...testSet(), labelsCsv: undefined })).rejects.toThrow(/split.test: .*stage_2_test has no labels to score on/);
    await expect(run({ ...testSet(), includeAny: false })).rejects.toThrow(/split.test: data.dataset is labelled binary 'labels' \[.*any\] but split.test is labelled binary 'labels' \[.*subdural\]/);
    await expect(run({ name: 'rsna-ich', root: data, cacheDir: null })).rejects.toThrow(/split.test: 10 patient\(s\) of .* are also in/);
    expect(() => resolveExperiment(tinyExperiment(data, { split: { test: { name: 'rsna-ich', rooot: data }, folds: 3, fold: 0 } }))).toThrow(/split.test/);
  }, 60_000);
});
