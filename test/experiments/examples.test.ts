import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setLogLevel } from '../../src/core/log.ts';
import { writeDemoDataset } from '../../src/data/demo/dataset.ts';
import { demoKindNames, manifestDemoKinds } from '../../src/data/demo/kinds.ts';
import { loadExperimentFile } from '../../src/experiments/load.ts';
import { resolveExperiment, runExperiment } from '../../src/experiments/run.ts';
import { loadDataset } from '../../src/data/datasets/registry.ts';
import { defaultTestBackend } from '../helpers/backend.ts';

/**
 * Every example experiment in experiments/ runs end to end at its `--quick` size on tiny demo data of its kind
 * (the head-CT phantom for rsna-ich datasets; for manifest datasets, the demo kind its `root` names:
 * `demo-data/<kind>`). Ablation files define several experiments at once and have their own tests, as do
 * two-stage experiments (they need a first-stage run and an extracted embeddings cache).
 */
const experimentsDir = join(import.meta.dirname, '../../experiments');
const files = readdirSync(experimentsDir)
  .filter((name) => name.endsWith('.ts') && !name.startsWith('ablation'))
  .sort();

const cacheOff = 'data.dataset.cacheDir=null';
let work: string;
const dataByKind = new Map<string, Promise<string>>();

/** Tiny data of one kind, written once per test file. */
function demoData(kind: string): Promise<string> {
  if (!dataByKind.has(kind)) {
    const dir = join(work, 'data', kind);
    dataByKind.set(
      kind,
      kind === 'rsna-ich'
        ? Promise.resolve(writeDemoDataset(dir, { patients: 12, seed: 1, slices: 4, size: 32, testPatients: 0 })).then(() => dir)
        : manifestDemoKinds[kind].write(dir, { patients: 12, seed: 1, size: 32, slices: 2 }).then(() => dir),
    );
  }
  return dataByKind.get(kind)!;
}

function demoKindOf(file: string, dataset: { name: string; root?: unknown }): string {
  if (dataset.name === 'rsna-ich') return 'rsna-ich';
  const kind = basename(String(dataset.root ?? ''));
  if (!(kind in manifestDemoKinds)) {
    throw new Error(`${file}: its dataset ${JSON.stringify(dataset)} names no demo kind; point root at demo-data/<kind>, one of ${demoKindNames.join(', ')}`);
  }
  return kind;
}

const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

beforeAll(() => {
  // Tiny splits leave classes without positives: the runs warn about undefined AUCs, which is expected here.
  setLogLevel('error');
  work = mkdtempSync(join(tmpdir(), 'sliceseq-examples-'));
});
afterAll(() => {
  setLogLevel('info');
  rmSync(work, { recursive: true, force: true });
});

describe('example experiments', () => {
  it('include the reference quickstart and one experiment per label kind', () => {
    expect(files).toEqual(expect.arrayContaining(['quickstart.ts', 'rsna-ich.ts', 'rsna-ich-patient.ts', 'multihead-organs.ts', 'ordinal-severity.ts', 'chest-multilabel.ts']));
  });

  it.for(files)('%s: a --quick run finishes and writes metrics.json with every label group scored', async (file, { skip }) => {
    const experiment = await loadExperimentFile(join(experimentsDir, file));
    // A two-stage experiment trains on embeddings a first-stage run and `sliceseq extract` made; its own tests chain those.
    if ((experiment.data as { embeddings?: unknown }).embeddings) skip('needs a first-stage run and an extracted embeddings cache');
    const weights = (experiment.model.backbone as { weights?: string | { path: string } } | undefined)?.weights;
    const weightsFile = typeof weights === 'string' ? weights : weights?.path;
    if (weightsFile && !existsSync(weightsFile)) skip(`needs pretrained weights at ${weightsFile}; pretrained-example.test.ts runs it on generated ones`);
    // Dense maps have no label schema or prediction CSVs; test/experiments/dense-ordinal.test.ts runs those files.
    if ((experiment.data.dataset as { masks?: unknown }).masks) skip('dense-ordinal maps: see dense-ordinal.test.ts');
    const kind = demoKindOf(file, experiment.data.dataset as { name: string; root?: unknown });
    const data = await demoData(kind);
    const options = { out: join(work, 'runs'), data, quick: true, backend: defaultTestBackend, sets: [cacheOff] };
    const resolved = resolveExperiment(experiment, options);
    const result = await runExperiment(experiment, options);

    const schema = (await loadDataset(resolved.data.dataset)).labelSchema!;
    const metrics = readJson(join(result.runDir, 'metrics.json'));
    const history = readFileSync(join(result.runDir, 'history.jsonl'), 'utf8').trim().split('\n');
    expect(history).toHaveLength(resolved.train.epochs);
    expect(metrics.best_epoch).toBeGreaterThanOrEqual(1);
    expect(metrics.test.rows).toBeGreaterThan(0);
    expect(Number.isFinite(metrics.test.loss)).toBe(true);
    expect(readFileSync(join(result.runDir, 'predictions-test.csv'), 'utf8').split('\n')[0]).toMatch(/^id,/);

    const kinds = new Set(schema.groups.map((group) => group.kind));
    // Binary labels: F2 at 0.5 and tuned, AUC, the all-positive baseline, thresholds; none of it without them.
    expect(metrics.test.f2 !== undefined).toBe(kinds.has('binary'));
    expect(metrics.baseline !== undefined).toBe(kinds.has('binary'));
    expect(existsSync(join(result.runDir, 'thresholds.json'))).toBe(kinds.has('binary'));
    if (kinds.has('binary')) {
      expect(metrics.test.f2.samples).toBeGreaterThanOrEqual(0);
      expect(metrics.test.f2.samples).toBeLessThanOrEqual(1);
      expect(metrics.test.f2_tuned).toBeDefined();
    }
    for (const group of schema.groups) {
      if (group.kind === 'categorical') {
        expect(metrics.test.groups[group.name]).toMatchObject({ kind: 'categorical', accuracy: expect.any(Number) });
        expect(metrics.test.groups[group.name]).toHaveProperty('auc_macro');
      }
      if (group.kind === 'ordinal') {
        const scores = metrics.test.groups[group.name];
        expect(Object.keys(scores.accuracy.perClass)).toEqual(group.classes);
        expect(Object.keys(scores.qwk.perClass)).toEqual(group.classes);
        expect(scores.mae.mean).toBeGreaterThanOrEqual(0);
      }
    }
    // The report draws categorical groups' class confusions and ordinal types' grade confusions.
    const report = readFileSync(join(result.runDir, 'report.html'), 'utf8');
    expect(report.includes('Categorical and ordinal groups')).toBe(kinds.has('categorical') || kinds.has('ordinal'));
    expect(existsSync(join(result.runDir, 'figures', 'group-confusion-categorical.svg'))).toBe(kinds.has('categorical'));
    expect(existsSync(join(result.runDir, 'figures', 'group-confusion-ordinal.svg'))).toBe(kinds.has('ordinal'));
    expect(report.includes('ROC and precision-recall')).toBe(kinds.has('binary'));
    expect('categorical_auc' in metrics.test).toBe(kinds.has('categorical'));
    expect('qwk' in metrics.test).toBe(kinds.has('ordinal'));
    if (schema.noFinding) expect(readFileSync(join(result.runDir, 'predictions-test.csv'), 'utf8').split('\n')[0]).toContain(schema.noFinding);
  });

  it('refuses a monitor the label schema cannot feed, naming the ones that fit', async () => {
    const experiment = await loadExperimentFile(join(experimentsDir, 'ordinal-severity.ts'));
    const data = await demoData('ordinal');
    await expect(
      runExperiment(experiment, { out: join(work, 'refused'), data, quick: true, backend: defaultTestBackend, sets: [cacheOff, 'train.monitor=f2_samples'] }),
    ).rejects.toThrow("train.monitor: 'f2_samples' needs binary labels, and the label schema has only ordinal groups; use one of qwk, loss");
  });

  it('leaves no tensors behind', async () => {
    const before = tf.memory().numTensors;
    const experiment = await loadExperimentFile(join(experimentsDir, 'multihead-organs.ts'));
    await runExperiment(experiment, { out: join(work, 'leak'), data: await demoData('organs'), quick: true, backend: defaultTestBackend, sets: [cacheOff] });
    expect(tf.memory().numTensors).toBe(before);
  });
});
