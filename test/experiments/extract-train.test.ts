import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tinyDemoData, tinyExperiment } from '../train/helpers.ts';
import { extractExperiment } from '../../src/cli/commands/extract.ts';
import { loadDataset } from '../../src/data/datasets/registry.ts';
import type { EmbeddingIndex } from '../../src/data/embedding-loader.ts';
import { defineExperiment, type ExperimentInput } from '../../src/experiments/config.ts';
import { loadExperimentFile } from '../../src/experiments/load.ts';
import { resolveExperiment, runExperiment } from '../../src/experiments/run.ts';
import { defaultTestBackend } from '../helpers/backend.ts';

/**
 * The two-stage mode end to end: train a CNN run, extract its backbone's embeddings with the CLI, train the
 * sequence model on the cache, and refuse caches that do not fit.
 */
let root: string;
let data: string;
let stageOneFile: string;
let cnnRun: string;
let cache: string;
let extractOutput: string;

const readJson = <T>(path: string) => JSON.parse(readFileSync(path, 'utf8')) as T;

beforeAll(async () => {
  ({ root, data } = await tinyDemoData());
  const stageOne = tinyExperiment(data, { name: 'cnn', train: { epochs: 1, batchSize: 4 } });
  // .mts: outside a "type": "module" package a .ts file would load as CommonJS.
  stageOneFile = join(root, 'cnn.mts');
  writeFileSync(stageOneFile, `export default ${JSON.stringify(stageOne)};\n`);
  cnnRun = (await runExperiment(stageOne, { out: join(root, 'runs') })).runDir;
  cache = join(root, 'embeddings', 'cnn');
  const { stdout } = await promisify(execFile)(process.execPath, ['bin/sliceseq.js', 'extract', stageOneFile, '--from-run', cnnRun, '--cache', cache]);
  extractOutput = stdout;
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The sequence model (GRU → LSTM decoder, no backbone) on the cached embeddings, slice-level like the quickstart. */
function sequenceExperiment(embeddings: Record<string, unknown>, overrides: Partial<ExperimentInput> = {}): ExperimentInput {
  return defineExperiment({
    name: 'sequence',
    seed: 3,
    backend: defaultTestBackend,
    data: { dataset: { name: 'rsna-ich', root: data, cacheDir: null }, level: 'slice', embeddings: embeddings as { cache: string } },
    split: { test: 0.25, folds: 3, fold: 0 },
    model: { encoder: { name: 'gru', hidden: 8 }, decoder: { name: 'lstm', hidden: 4 } },
    optimizer: { name: 'adam', lr: 0.01 },
    train: { epochs: 2, batchSize: 4 },
    ...overrides,
  });
}

const fromCnnRun = () => ({ cache, extract: { experiment: stageOneFile, fromRun: cnnRun } });

describe('two-stage mode', () => {
  it("extracts the trained run's backbone from the CLI and trains the sequence model on the cache, keeping OOF and test predictions", async () => {
    const index = readJson<EmbeddingIndex>(join(cache, 'index.json'));
    expect(extractOutput).toContain(`fingerprint: ${index.fingerprint}`);
    expect(extractOutput).toContain(`use in an experiment: data: { embeddings: { cache: '${cache}', extract: { experiment: '${stageOneFile}', fromRun: '${cnnRun}' } } }`);
    const environment = readJson<{ split: { train: string[] } }>(join(cnnRun, 'environment.json'));
    expect(index.source.trainedOn).toEqual(environment.split.train);

    const result = await runExperiment(sequenceExperiment(fromCnnRun()), { out: join(root, 'runs') });
    const runDir = result.runDir;
    const metrics = readJson<{ val: { f2: Record<string, number> }; test: { f2: Record<string, number> } }>(join(runDir, 'metrics.json'));
    expect(metrics.val.f2.samples).toBeGreaterThanOrEqual(0);
    expect(metrics.test.f2.samples).toBeGreaterThanOrEqual(0);
    expect(readFileSync(join(runDir, 'history.jsonl'), 'utf8').trim().split('\n')).toHaveLength(2);

    const run = readJson<{ split: { val: string[]; test: string[] }; embeddings: { fingerprint: string } }>(join(runDir, 'environment.json'));
    expect(run.embeddings.fingerprint).toBe(index.fingerprint);
    // Out-of-fold (validation) and test predictions, one row per real slice (4 per patient).
    // Rows are named by the slice's own id (the RSNA image id, ID_<hex>) with its patient beside it.
    const column = (file: string, c: number) => readFileSync(join(runDir, file), 'utf8').trim().split('\n').slice(1).map((line) => line.split(',')[c]);
    expect(column('predictions-oof.csv', 0)).toHaveLength(run.split.val.length * 4);
    for (const [file, patients] of [['predictions-oof.csv', run.split.val], ['predictions-test.csv', run.split.test]] as const) {
      expect(new Set(column(file, 0)).size).toBe(patients.length * 4);
      expect(column(file, 0).every((id) => /^ID_[0-9a-f]+$/.test(id))).toBe(true);
      expect([...column(file, 1)].sort()).toEqual(patients.flatMap((id) => [id, id, id, id]).sort());
    }
    // The saved model reads embeddings: no backbone inside.
    const modelJson = readFileSync(join(runDir, 'model', 'model.json'), 'utf8');
    expect(modelJson).toContain('"embeddings"');
    expect(modelJson).not.toContain('"backbone"');
  });

  it('experiments/two-stage-sequence.ts runs at --quick size on the embeddings of a quickstart run', async () => {
    const common = { data, quick: true, backend: defaultTestBackend };
    const quickstart = await loadExperimentFile('experiments/quickstart.ts');
    const stageOne = await runExperiment(quickstart, { ...common, out: join(root, 'demo-runs'), sets: ['data.dataset.cacheDir=null'] });
    const embeddings = join(root, 'embeddings', 'quickstart');
    await extractExperiment(quickstart, { ...common, fromRun: stageOne.runDir, cache: embeddings, set: ['data.dataset.cacheDir=null'] });
    const sets = ['data.dataset.cacheDir=null', `data.embeddings.cache=${embeddings}`, `data.embeddings.extract.fromRun=${stageOne.runDir}`];
    const result = await runExperiment(await loadExperimentFile('experiments/two-stage-sequence.ts'), { ...common, out: join(root, 'demo-runs'), sets });
    expect(result.state.epoch).toBe(3);
    expect(readJson<{ val: { f2: { samples: number } } }>(join(result.runDir, 'metrics.json')).val.f2.samples).toBeGreaterThanOrEqual(0);
    expect(readFileSync(join(result.runDir, 'predictions-oof.csv'), 'utf8')).toMatch(/^id,/);
  });

  it('refuses a cache made by another model, naming both fingerprints and what differs', async () => {
    const untrained = join(root, 'embeddings', 'untrained');
    const other = await extractExperiment(readJson<ExperimentInput>(join(cnnRun, 'config.json')), { cache: untrained });
    const expected = readJson<EmbeddingIndex>(join(cache, 'index.json')).fingerprint;
    await expect(runExperiment(sequenceExperiment({ ...fromCnnRun(), cache: untrained }), { out: join(root, 'runs'), force: true })).rejects.toThrow(
      new RegExp(`cache ${untrained} does not fit this experiment: it holds fingerprint ${other.fingerprint} \\(model .*\\), the experiment expects ${expected} \\(model .*\\); the model .* differ\\. Re-extract: sliceseq extract ${stageOneFile} --from-run ${cnnRun} --cache ${untrained} --force`),
    );
    await expect(runExperiment(sequenceExperiment({ cache, fingerprint: other.fingerprint }), { out: join(root, 'runs'), force: true })).rejects.toThrow(
      new RegExp(`it holds fingerprint ${expected} .*data\\.embeddings\\.fingerprint pins ${other.fingerprint}`),
    );
  });

  it("refuses to validate on patients the CNN trained on (another seed's split), and preprocessing on embeddings", async () => {
    await expect(runExperiment(sequenceExperiment(fromCnnRun(), { seed: 4 }), { out: join(root, 'runs'), force: true })).rejects.toThrow(
      /the backbone of .* trained on \d+ patient\(s\) this run validates or tests on .*use that run's seed, split and fold/,
    );
    const withPreprocess = sequenceExperiment(fromCnnRun());
    (withPreprocess.data as Record<string, unknown>).preprocess = [{ name: 'window', windows: ['brain'] }];
    expect(() => resolveExperiment(withPreprocess, {})).toThrow(/data\.preprocess[\s\S]*must be empty with data\.embeddings/);
    expect(() => resolveExperiment(sequenceExperiment({ cache }), {})).toThrow(/data\.embeddings\.extract[\s\S]*or pin its fingerprint/);
  });

  // Last: it changes a slice file's pixels, which every later check would see.
  it('refuses a cache whose slice files changed since extraction, even with a pinned fingerprint', async () => {
    const dataset = await loadDataset(resolveExperiment(sequenceExperiment(fromCnnRun()), {}).data.dataset);
    const file = dataset.patients[0].slices[0].path;
    const bytes = readFileSync(file);
    for (let i = bytes.length - 64; i < bytes.length; i++) bytes[i] ^= 0xff;
    writeFileSync(file, bytes);
    const fingerprint = readJson<EmbeddingIndex>(join(cache, 'index.json')).fingerprint;
    for (const embeddings of [fromCnnRun(), { cache, fingerprint }]) {
      await expect(runExperiment(sequenceExperiment(embeddings), { out: join(root, 'runs'), force: true })).rejects.toThrow(/the data \(patients or slice files\) differ/);
    }
  });
});
