import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setLogLevel } from '../../src/core/log.ts';
import { writeDenseOrdinalDemo } from '../../src/data/demo/dense-ordinal.ts';
import { loadExperimentFile } from '../../src/experiments/load.ts';
import { runExperiment } from '../../src/experiments/run.ts';
import { runCrossValidation } from '../../src/experiments/cross-validate.ts';
import { loadModel } from '../../src/models/io.ts';
import { defaultTestBackend } from '../helpers/backend.ts';

/**
 * experiments/dense-ordinal.ts (U-Net regression, MAE) and experiments/dense-ordinal-joint.ts (256-class softmax
 * baseline) train end to end at their --quick size on a small dense-ordinal demo, on the default test backend.
 */
const experimentsDir = join(import.meta.dirname, '../../experiments');
const types = ['erythema', 'scaling', 'crusting', 'lichenification'];
let work: string;
let data: string;
const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

beforeAll(async () => {
  setLogLevel('error');
  work = mkdtempSync(join(tmpdir(), 'sliceseq-dense-run-'));
  data = join(work, 'data');
  await writeDenseOrdinalDemo(data, { patients: 15, seed: 1, size: 32 });
});
afterAll(() => {
  setLogLevel('info');
  rmSync(work, { recursive: true, force: true });
});

describe('dense-ordinal experiments', () => {
  it('regression: trains, scores every type over all pixels and unseen combinations, tunes thresholds, reports the maps', async () => {
    const before = tf.memory().numTensors;
    const experiment = await loadExperimentFile(join(experimentsDir, 'dense-ordinal.ts'));
    const result = await runExperiment(experiment, { out: join(work, 'runs'), data, quick: true, backend: defaultTestBackend, sets: ['evaluation.denseThresholds=tuned', 'train.epochs=2'] });
    expect(tf.memory().numTensors).toBe(before);
    const metrics = readJson(join(result.runDir, 'metrics.json'));
    expect(metrics.best_epoch).toBeGreaterThanOrEqual(1);
    for (const split of ['val', 'test']) {
      const block = metrics[split];
      expect(Number.isFinite(block.loss)).toBe(true);
      const group = block.groups.damage;
      expect(group.kind).toBe('dense-ordinal');
      for (const key of ['pixel_mae', 'accuracy', 'mae', 'qwk']) expect(Object.keys(group[key].perClass)).toEqual(types);
      expect(group.pixel_mae.mean).toBeGreaterThanOrEqual(0);
      for (const type of types) {
        expect(group.dice[type]).toHaveLength(4);
        // Every labelled pixel is counted once in the confusion matrix.
        expect(group.confusion[type].flat().reduce((a: number, b: number) => a + b, 0)).toBe(group.pixels[type]);
      }
    }
    // Test images hold combinations no training image shows; they are scored apart.
    expect(metrics.test.unseen.pixels).toBeGreaterThan(0);
    expect(Object.keys(metrics.test.unseen.groups.damage.qwk.perClass)).toEqual(types);
    const thresholds = readJson(join(result.runDir, 'dense-thresholds.json'));
    expect(thresholds.source).toMatch(/tuned on validation/);
    for (const type of types) {
      expect(thresholds.thresholds[type]).toHaveLength(3);
      expect([...thresholds.thresholds[type]].sort((a, b) => a - b)).toEqual(thresholds.thresholds[type]);
    }
    const examples = readJson(join(result.runDir, 'dense-examples.json'));
    expect(examples.examples.length).toBeGreaterThan(0);
    expect(examples.examples[0].truth).toHaveLength(4);
    expect(examples.examples[0].values[0]).toHaveLength(32 * 32);
    const report = readFileSync(join(result.runDir, 'report.html'), 'utf8');
    expect(report).toContain('Dense grade maps');
    expect(existsSync(join(result.runDir, 'figures', 'dense-maps.svg'))).toBe(true);
    expect(existsSync(join(result.runDir, 'figures', 'group-confusion-ordinal.svg'))).toBe(true);
    // The saved model loads and maps a batch to [b, s, H, W, types].
    const model = await loadModel(join(result.runDir, 'model'));
    const out = model.predict([tf.zeros([1, 1, 32, 32, 3]), tf.ones([1, 1])]) as tf.Tensor;
    expect(out.shape).toEqual([1, 1, 32, 32, 4]);
    tf.dispose(out);
    model.dispose();
  });

  it('joint softmax baseline: 256 outputs per pixel, the same metrics', async () => {
    const experiment = await loadExperimentFile(join(experimentsDir, 'dense-ordinal-joint.ts'));
    const result = await runExperiment(experiment, { out: join(work, 'runs'), data, quick: true, backend: defaultTestBackend });
    const metrics = readJson(join(result.runDir, 'metrics.json'));
    expect(Object.keys(metrics.test.groups.damage.qwk.perClass)).toEqual(types);
    expect(metrics.test.joint_accuracy).toBeGreaterThanOrEqual(0);
    expect(readJson(join(result.runDir, 'dense-thresholds.json')).source).toMatch(/not used: joint outputs/);
  });

  it('refuses an image-level monitor and a dense dataset without a dense model', async () => {
    const experiment = await loadExperimentFile(join(experimentsDir, 'dense-ordinal.ts'));
    await expect(runExperiment(experiment, { out: join(work, 'refused'), data, quick: true, backend: defaultTestBackend, sets: ['train.monitor=f2_samples'] })).rejects.toThrow(
      "train.monitor: 'f2_samples' does not apply to dense-ordinal maps; use qwk, loss or last",
    );
    const noDense = { ...experiment, model: { encoder: { name: 'none' }, decoder: { name: 'dense' } }, quick: {} };
    await expect(runExperiment(noDense, { out: join(work, 'refused'), data, backend: defaultTestBackend, sets: ['train.epochs=1'] })).rejects.toThrow(/model.dense: the dataset has dense-ordinal maps/);
    await expect(runExperiment(experiment, { out: join(work, 'refused'), data, quick: true, backend: defaultTestBackend, sets: [`data.cacheDir=${join(work, 'cache')}`] })).rejects.toThrow(
      'data.cacheDir: the decoded-slice cache does not hold mask files',
    );
    // Cross-validation pools image-level predictions: refused before any fold trains.
    await expect(runCrossValidation(experiment, { out: join(work, 'refused-cv'), data, quick: true, backend: defaultTestBackend })).rejects.toThrow(/--folds all: .*dense model \(model\.dense\)/);
    expect(existsSync(join(work, 'refused-cv'))).toBe(false);
  });
});
