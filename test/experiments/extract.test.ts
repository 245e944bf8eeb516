import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tensor } from '@tensorflow/tfjs';
import { existsSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { useBackend } from '../helpers/backend.ts';
import { tinyDemoData, tinyExperiment } from '../train/helpers.ts';
import { extractExperiment } from '../../src/cli/commands/extract.ts';
import { Rng } from '../../src/core/rng.ts';
import { loadDataset } from '../../src/data/datasets/registry.ts';
import type { Dataset } from '../../src/data/datasets/types.ts';
import type { EmbeddingIndex } from '../../src/data/embedding-loader.ts';
import { readNpy } from '../../src/data/npy.ts';
import { buildPreprocess } from '../../src/data/preprocess.ts';
import { readSlices } from '../../src/data/readers/index.ts';
import type { ExperimentInput } from '../../src/experiments/config.ts';
import { extractionPlan } from '../../src/experiments/extract.ts';
import { resolveExperiment } from '../../src/experiments/resolve.ts';
import { writeEnvironment, writeRunConfig } from '../../src/runs/index.ts';
import { buildBackbone, buildModel } from '../../src/models/build.ts';
import { saveModel } from '../../src/models/io.ts';

let tf: Awaited<ReturnType<typeof useBackend>>;
let root: string;
let input: ExperimentInput;
let dataset: Dataset;

beforeAll(async () => {
  tf = await useBackend();
  const demo = await tinyDemoData();
  root = demo.root;
  input = tinyExperiment(demo.data);
  dataset = await loadDataset(resolveExperiment(input, {}).data.dataset);
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

const readIndex = (cache: string) => JSON.parse(readFileSync(join(cache, 'index.json'), 'utf8')) as EmbeddingIndex;

/** The experiment's backbone as built from scratch, run on one patient's slices as read and preprocessed by hand. */
async function referenceEmbeddings(patientIndex: number, mirrored: boolean): Promise<Float32Array> {
  const experiment = resolveExperiment(input, {});
  const patient = dataset.patients[patientIndex];
  const slices = await buildPreprocess(experiment.data.preprocess).apply((await Promise.all(patient.slices.map((s) => readSlices(s.path)))).flat(), { train: false });
  const { rows, cols, channels } = slices[0];
  const backbone = buildBackbone(experiment.model.backbone!, { rng: Rng.derive(experiment.seed, 'model'), imageShape: { height: rows, width: cols, channels } });
  const out = tf.tidy(() => {
    const images = tf.tensor4d(Float32Array.from(slices.flatMap((s) => Array.from(s.data))), [slices.length, rows, cols, channels]);
    return backbone.model.predict(mirrored ? tf.reverse(images, 2) : images) as Tensor;
  });
  const values = (await out.data()) as Float32Array;
  out.dispose();
  backbone.model.dispose();
  return values;
}

function expectClose(actual: Float32Array, expected: Float32Array): void {
  expect(actual.length).toBe(expected.length);
  const worst = actual.reduce((m, v, i) => Math.max(m, Math.abs(v - expected[i])), 0);
  expect(worst).toBeLessThan(1e-4);
}

describe('sliceseq extract', () => {
  it("writes one .npy per patient ([slices, features], the backbone's embeddings) and an index with targets", async () => {
    const cache = join(root, 'plain');
    const before = tf.memory().numTensors;
    const result = await extractExperiment(input, { cache });
    expect(tf.memory().numTensors).toBe(before);

    expect(result).toMatchObject({ reused: false, patients: 16, slices: 64, features: 8 });
    expect(result.slicesPerSecond).toBeGreaterThan(0);
    const index = readIndex(cache);
    expect(index.fingerprint).toBe(result.fingerprint);
    expect(index.patients.map((p) => p.id)).toEqual(dataset.patients.map((p) => p.id));
    expect(readdirSync(cache).filter((f) => f.endsWith('.npy')).sort()).toEqual(index.patients.map((p) => p.file).sort());
    expect(index.labels.columns).toEqual(['epidural', 'intraparenchymal', 'intraventricular', 'subarachnoid', 'subdural', 'any']);
    index.patients.forEach((entry, i) => {
      expect(entry.slices).toBe(4);
      expect(entry.targets).toEqual(Array.from(dataset.patients[i].targets!));
      expect(entry.sliceTargets).toEqual(dataset.patients[i].sliceTargets!.map((t) => Array.from(t)));
      expect(readNpy(join(cache, entry.file)).shape).toEqual([4, 8]);
    });
    expect(index.source).toMatchObject({ fromRun: null, tta: false, trainedOn: null, imageShape: { height: 32, width: 32, channels: 3 } });
    expectClose(readNpy(join(cache, index.patients[5].file)).data, await referenceEmbeddings(5, false));

    // The same extraction again is a cache hit; another one is refused until --force.
    expect((await extractExperiment(input, { cache })).reused).toBe(true);
    await expect(extractExperiment(input, { cache, set: ['seed=9'] })).rejects.toThrow(
      new RegExp(`holds embeddings with fingerprint ${result.fingerprint} .*this extraction's is [0-9a-f]{16} .*pass --force`),
    );
    const replaced = await extractExperiment(input, { cache, set: ['seed=9'], force: true });
    expect(replaced.fingerprint).not.toBe(result.fingerprint);
    expect(readIndex(cache).fingerprint).toBe(replaced.fingerprint);
  });

  it('with --tta caches the mean of the plain and the mirrored slice embeddings', async () => {
    const cache = join(root, 'tta');
    const result = await extractExperiment(input, { cache, tta: true });
    const index = readIndex(cache);
    expect(index.source.tta).toBe(true);
    const [plain, mirrored] = await Promise.all([referenceEmbeddings(2, false), referenceEmbeddings(2, true)]);
    const cached = readNpy(join(cache, index.patients[2].file)).data;
    expectClose(cached, plain.map((v, i) => (v + mirrored[i]) / 2));
    expect(cached.some((v, i) => Math.abs(v - plain[i]) > 1e-4)).toBe(true);
    expect(result.parts.model).not.toBe(readIndex(join(root, 'plain')).parts.model);
  });

  it('keys the cache on model weights, preprocessing and data: each change moves its own part', async () => {
    const plan = async (options: { seed?: number; sets?: string[]; tta?: boolean } = {}) => {
      const p = await extractionPlan(resolveExperiment(input, options), dataset.patients, { tta: options.tta });
      p.dispose();
      return p;
    };
    const base = await plan();
    expect((await plan()).fingerprint).toBe(base.fingerprint);

    const reseeded = await plan({ seed: 11 });
    expect(reseeded.parts).toEqual({ ...base.parts, model: expect.not.stringMatching(base.parts.model) });

    const windows = await plan({ sets: ['data.preprocess=[{"name":"window","windows":["subdural","brain","bone"]}]'] });
    expect(windows.parts).toEqual({ ...base.parts, preprocess: expect.not.stringMatching(base.parts.preprocess) });

    const wider = await plan({ sets: ['model.backbone.channels=[4,16]'] });
    expect(wider.parts.model).not.toBe(base.parts.model);

    // The data part follows the files' contents, not their times: a touch keeps it, other pixels move it.
    const file = dataset.patients[3].slices[1].path;
    const original = readFileSync(file);
    utimesSync(file, 1_700_000_000, 1_700_000_000);
    expect((await plan()).fingerprint).toBe(base.fingerprint);
    const inverted = Buffer.from(original);
    for (let i = inverted.length - 64; i < inverted.length; i++) inverted[i] ^= 0xff;
    writeFileSync(file, inverted);
    const changed = await plan();
    expect(changed.parts).toEqual({ ...base.parts, data: expect.not.stringMatching(base.parts.data) });
    expect(changed.fingerprint).not.toBe(base.fingerprint);
    writeFileSync(file, original);
    expect((await plan()).fingerprint).toBe(base.fingerprint);
    const fewer = await extractionPlan(resolveExperiment(input, {}), dataset.patients.slice(1));
    fewer.dispose();
    expect(fewer.parts.data).not.toBe(base.parts.data);
  });

  it("takes a saved model's backbone weights (fold or timeDistributed stacking) and its run's training split", async () => {
    for (const stacking of ['fold', 'timeDistributed'] as const) {
      const experiment = resolveExperiment(input, { sets: [`model.stacking=${stacking}`] });
      const runDir = join(root, `saved-${stacking}`);
      // Another seed stands in for training: weights that differ from the experiment's initial ones.
      const model = buildModel(experiment.model, { schema: dataset.labelSchema!, rng: Rng.derive(99, 'model'), inputShape: { height: 32, width: 32, channels: 3 }, level: 'patient' });
      await saveModel(model, join(runDir, 'model'));
      writeRunConfig(runDir, experiment);
      writeEnvironment(runDir, {
        sliceseq: '0.0.0',
        node: process.version,
        tfjs: '4.22.0',
        backend: 'wasm',
        seed: experiment.seed,
        data: { source: 'test', fingerprint: '0123456789abcdef', patients: 4 },
        split: { train: ['a', 'b'], val: [], test: [] },
      });
      const trained = await extractionPlan(experiment, dataset.patients, { fromRun: runDir });
      const untrained = await extractionPlan(experiment, dataset.patients);
      const saved = model.layers.map((l) => (l as unknown as { layer?: typeof l }).layer ?? l).find((l) => l.name === 'backbone')!;
      const values = (weights: Tensor[]) => weights.map((w) => Array.from(w.dataSync()));
      expect(values(trained.backbone.model.getWeights())).toEqual(values(saved.getWeights()));
      expect(trained.trainedOn).toEqual(['a', 'b']);
      expect(trained.parts.model).not.toBe(untrained.parts.model);
      expect(trained.parts.preprocess).toBe(untrained.parts.preprocess);
      [trained, untrained].forEach((p) => p.dispose());
      model.dispose();

      const elsewhere = resolveExperiment(input, { sets: ['data.preprocess=[{"name":"window","windows":["bone","brain","subdural"]}]'] });
      await expect(extractionPlan(elsewhere, dataset.patients, { fromRun: runDir })).rejects.toThrow(/the run preprocessed slices as .*extract with the experiment the run trained/);
      const wider = resolveExperiment(input, { sets: ['model.backbone.channels=[4,16]'] });
      await expect(extractionPlan(wider, dataset.patients, { fromRun: runDir })).rejects.toThrow(/the run's backbone is .*"channels":\[4,8\].* names .*"channels":\[4,16\]/);
    }
    await expect(extractionPlan(resolveExperiment(input, {}), dataset.patients, { fromRun: root })).rejects.toThrow(/no finished run there \(model\/model\.json is missing\)/);
  });

  it('refuses a folder that is not a cache, and an experiment without a backbone', async () => {
    await expect(extractExperiment(input, { cache: join(root, 'data') })).rejects.toThrow(/is not empty and holds no embeddings cache .*--force/);
    expect(existsSync(join(root, 'data', 'index.json'))).toBe(false);
    const { backbone: _backbone, ...headless } = resolveExperiment(input, {}).model;
    await expect(extractionPlan(resolveExperiment({ ...input, model: headless }, {}), dataset.patients)).rejects.toThrow(/model\.backbone is needed to extract/);
  });
});
