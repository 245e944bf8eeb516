import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setLogLevel } from '../../src/core/log.ts';
import { parseCsv } from '../../src/data/datasets/csv.ts';
import { loadDataset } from '../../src/data/datasets/registry.ts';
import { writeDemoDataset } from '../../src/data/demo/dataset.ts';
import { PatientLoader } from '../../src/data/loader.ts';
import { buildPreprocess } from '../../src/data/preprocess.ts';
import { sliceId } from '../../src/data/patients.ts';
import { runExperiment } from '../../src/experiments/run.ts';
import { predictDatasetConfig, runPredictJob } from '../../src/experiments/predict-job.ts';
import { predictEnsemble } from '../../src/experiments/predict.ts';
import { loadModel } from '../../src/models/io.ts';
import { modelMetadata } from '../../src/models/build.ts';
import { scoreSubmission } from '../../src/metrics/submission/score.ts';
import { monitoredValue } from '../../src/train/evaluate.ts';
import { tinyExperiment } from '../train/helpers.ts';
import { RSNA_CLASSES, rsnaF2 } from '../helpers/rsna-score.ts';

/**
 * `sliceseq predict` on a competition-layout dataset: a slice-level run trained with maxSlices 3 predicts every
 * slice of the unlabelled stage_2_test patients (up to 6 each), keyed by image id; flip TTA, ensembles, the
 * submission in the sample submission's order, scored against the demo solution.
 */
let root: string;
let data: string;
let runs: string[];
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

beforeAll(async () => {
  setLogLevel('error');
  root = mkdtempSync(join(tmpdir(), 'sliceseq-predict-'));
  data = join(root, 'data');
  writeDemoDataset(data, { patients: 12, seed: 4, slices: [4, 6], size: 32, testPatients: 3 });
  runs = [];
  for (const seed of [3, 5]) {
    const experiment = tinyExperiment(data, { seed, train: { epochs: 1, batchSize: 4 }, split: { test: 0.25, folds: 3, fold: 0 } });
    experiment.data = { ...experiment.data!, level: 'slice', maxSlices: 3 };
    runs.push((await runExperiment(experiment, { out: join(root, 'runs'), report: false })).runDir);
  }
}, 240_000);

afterAll(() => {
  setLogLevel('info');
  rmSync(root, { recursive: true, force: true });
});

/** The run's model applied directly to each whole test patient (images as the loader gives them), flipped or not. */
async function directProbabilities(runDir: string, flip: boolean): Promise<Map<string, number[]>> {
  const model = await loadModel(join(runDir, 'model'));
  const config = JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8'));
  const dataset = await loadDataset({ name: 'rsna-ich', root: data, split: 'test', cacheDir: null });
  const loader = new PatientLoader({ patients: dataset.patients }, { batchSize: 1, seed: 0, shuffle: false }, { pipeline: buildPreprocess(config.data.preprocess) });
  const out = new Map<string, number[]>();
  for await (const batch of loader.epoch(0)) {
    const logits = tf.tidy(() => model.apply([flip ? tf.reverse(batch.images, 3) : batch.images, batch.mask], { training: false }) as tf.Tensor);
    const values = (await logits.array()) as number[][][];
    logits.dispose();
    const patient = dataset.patients.find((p) => p.id === batch.patientIds[0])!;
    patient.slices.forEach((slice, k) => out.set(sliceId(slice), values[0][k].map(sigmoid)));
    batch.dispose();
  }
  model.dispose();
  return out;
}

const readTable = (file: string) => parseCsv(readFileSync(file, 'utf8'), file);
const classes = RSNA_CLASSES;

describe('sliceseq predict', () => {
  it('predicts every slice of every test patient, keyed by image id, whatever maxSlices was', async () => {
    const out = join(root, 'one.csv');
    const result = await runPredictJob({ runs: [runs[0]], out, split: 'test' });
    const testImages = readFileSync(join(data, 'stage_2_sample_submission.csv'), 'utf8').trim().split('\n').slice(1).filter((line) => line.includes('_any,')).map((line) => line.split('_any,')[0]);
    const table = readTable(out);
    expect(table.header).toEqual(['id', 'patient', ...classes]);
    expect(table.rows.map((row) => row.cells.id).sort()).toEqual([...testImages].sort());
    const direct = await directProbabilities(runs[0], false);
    for (const row of table.rows) {
      classes.forEach((name, c) => expect(Number(row.cells[name])).toBeCloseTo(direct.get(row.cells.id)![c], 5));
    }
    expect(result.predictions.ids.length).toBeGreaterThan(3 * 3);
  });

  it('averages the flipped view with --tta flip, and ensemble members by weight', async () => {
    const flipped = await directProbabilities(runs[0], true);
    const plain = await directProbabilities(runs[0], false);
    const tta = await runPredictJob({ runs: [runs[0]], out: join(root, 'tta.csv'), split: 'test', tta: 'flip' });
    tta.predictions.ids.forEach((id, r) =>
      classes.forEach((_, c) => expect(tta.predictions.scores.data[r * classes.length + c]).toBeCloseTo((plain.get(id)![c] + flipped.get(id)![c]) / 2, 5)),
    );
    const other = await directProbabilities(runs[1], false);
    const ensemble = await runPredictJob({ runs, out: join(root, 'ensemble.csv'), split: 'test', memberWeights: [1, 3] });
    ensemble.predictions.ids.forEach((id, r) =>
      classes.forEach((_, c) => expect(ensemble.predictions.scores.data[r * classes.length + c]).toBeCloseTo((plain.get(id)![c] + 3 * other.get(id)![c]) / 4, 5)),
    );
    // A folder of runs is the ensemble of every finished run below it.
    const folder = await runPredictJob({ runs: [join(root, 'runs')], out: join(root, 'folder.csv'), split: 'test' });
    expect(folder.members).toEqual(runs);
  });

  it('writes an RSNA submission in the sample order, byte-stable, whose score equals one computed from the probabilities', async () => {
    const options = { runs: [runs[0]], out: join(root, 'sub-predictions.csv'), split: 'test', submission: join(root, 'submission.csv'), sampleSubmission: join(data, 'stage_2_sample_submission.csv'), thresholds: 'tuned' };
    const result = await runPredictJob(options);
    const first = readFileSync(options.submission, 'utf8');
    await runPredictJob(options);
    expect(readFileSync(options.submission, 'utf8')).toBe(first);
    const sampleKeys = readFileSync(options.sampleSubmission, 'utf8').trim().split('\n').map((line) => line.split(',')[0]);
    expect(first.trim().split('\n').map((line) => line.split(',')[0])).toEqual(sampleKeys);
    const predictionsTable = readTable(options.out);
    expect(predictionsTable.header).toContain('label_any');

    // Independently: mean over images of F2 at 0.5, a row with no true and no predicted label scoring 1.
    const expected = rsnaF2(first, join(data, 'solution.csv'));
    const score = scoreSubmission(parseCsv(first, 'submission.csv'), readTable(join(data, 'solution.csv')));
    expect(score.public).toBeCloseTo(expected.public, 12);
    expect(score.private).toBeCloseTo(expected.private, 12);
    expect(result.submission).toBe(options.submission);
  });

  it('scores a labelled test split (--labels) and reads the last checkpoint with --weights last', async () => {
    const labelled = await runPredictJob({ runs: [runs[0]], out: join(root, 'labelled.csv'), split: 'test', labels: join(data, 'solution.csv'), weights: 'last' });
    expect(labelled.predictions.truth).toBeDefined();
    const own = scoreSubmission(readTable(join(root, 'labelled.csv')), undefined, {}, () => {});
    expect(own.all).toBeGreaterThanOrEqual(0);
    // One epoch: the last checkpoint is the best one.
    const best = readTable(join(root, 'one.csv')).rows.map((row) => row.cells.any);
    expect(readTable(join(root, 'labelled.csv')).rows.map((row) => row.cells.any)).toEqual(best);
    expect(monitoredValue({}, 'last', 4)).toBe(4);
  });

  it('predicts one row per patient for a patient-level run, as wide or tags submissions', async () => {
    const experiment = tinyExperiment(data, { name: 'patient-level', train: { epochs: 1, batchSize: 4 } });
    const run = (await runExperiment(experiment, { out: join(root, 'patient-runs'), report: false })).runDir;
    const wide = join(root, 'wide.csv');
    const result = await runPredictJob({ runs: [run], out: join(root, 'patients.csv'), split: 'test', submission: wide, format: 'wide' });
    const patients = (await loadDataset({ name: 'rsna-ich', root: data, split: 'test', cacheDir: null })).patients.map((p) => p.id);
    expect(result.level).toBe('patient');
    expect(result.predictions.ids).toEqual(patients);
    expect(readTable(join(root, 'patients.csv')).header).toEqual(['id', ...classes]);
    const table = readTable(wide);
    expect(table.header).toEqual(['id', ...classes]);
    expect(table.rows.map((row) => row.cells.id)).toEqual(patients);
    const tags = join(root, 'tags.csv');
    await runPredictJob({ runs: [run], out: join(root, 'patients.csv'), split: 'test', submission: tags, format: 'tags', thresholds: '0.5' });
    const decided = readTable(join(root, 'patients.csv'));
    readTable(tags).rows.forEach((row, r) => {
      const expected = classes.filter((name) => decided.rows[r].cells[`label_${name}`] === '1');
      expect(row.cells.Predicted.split(' ').filter(Boolean)).toEqual(expected);
    });
  }, 120_000);

  it('refuses data its preprocessing makes into another input shape, and a dataset with other labels', async () => {
    const small = join(root, 'small');
    writeDemoDataset(small, { patients: 2, seed: 9, slices: 3, size: 16, testPatients: 1 });
    await expect(runPredictJob({ runs: [runs[0]], out: join(root, 'x.csv'), data: small, split: 'test' })).rejects.toThrow(
      /its preprocessing turns this dataset's slices into 16×16×3, but the model takes 32×32×3/,
    );
    const model = await loadModel(join(runs[0], 'model'));
    const meta = modelMetadata(model)!;
    model.dispose();
    const dataset = await loadDataset({ name: 'rsna-ich', root: data, includeAny: false, cacheDir: null });
    const member = { name: runs[0], experiment: JSON.parse(readFileSync(join(runs[0], 'config.json'), 'utf8')), load: () => loadModel(join(runs[0], 'model')) };
    expect(meta.labelSchema!.groups[0].classes).toEqual(classes);
    await expect(predictEnsemble([member], dataset, { progress: false })).rejects.toThrow(
      /does not fit .*: the model predicts binary 'labels' \[epidural, .*, any\] but the dataset is labelled binary 'labels' \[epidural, .*, subdural\]/,
    );
    await expect(runPredictJob({ runs: [runs[0]], out: join(root, 'x.csv'), split: 'nope' })).rejects.toThrow(/split/);
    // A run whose config names the training labels (as sliceseq 0.1 wrote them) predicts the test split without them.
    const base = JSON.parse(readFileSync(join(runs[0], 'config.json'), 'utf8'));
    expect(predictDatasetConfig({ ...base, data: { ...base.data, dataset: { ...base.data.dataset, labelsCsv: 'stage_2_train.csv' } } }, { split: 'test' })).not.toHaveProperty('labelsCsv');
  });
});
