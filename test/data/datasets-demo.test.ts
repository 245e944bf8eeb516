import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { useBackend } from '../helpers/backend.ts';
import { writeDemoDataset, type DemoDatasetSummary, type DemoPatientRecord } from '../../src/data/demo/dataset.ts';
import { loadDataset } from '../../src/data/datasets/registry.ts';
import { formatDatasetReport, inspectDataset } from '../../src/data/inspect-dataset.ts';
import { PatientLoader, forEachBatch } from '../../src/data/loader.ts';
import { buildPreprocess } from '../../src/data/preprocess.ts';
import { kFold, splitItems } from '../../src/data/splits.ts';

let work: string;
let summary: DemoDatasetSummary;
let records: DemoPatientRecord[];
let tf: Awaited<ReturnType<typeof useBackend>>;

beforeAll(async () => {
  tf = await useBackend('cpu');
  work = mkdtempSync(join(tmpdir(), 'sliceseq-demo-'));
  summary = writeDemoDataset(work, { patients: 8, seed: 4, slices: [3, 6], size: 16, testPatients: 2 });
  records = JSON.parse(readFileSync(join(work, 'demo-manifest.json'), 'utf8')).patients;
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('rsna-ich on the demo dataset', () => {
  it('finds every patient with its slices bottom to top and its labels', async () => {
    const dataset = await loadDataset({ name: 'rsna-ich', root: work, cacheDir: join(work, '.cache') });
    const byStudy = new Map(records.filter((r) => r.split === 'train').map((r) => [r.studyInstanceUid, r]));
    expect(dataset.patients).toHaveLength(summary.trainPatients);
    for (const patient of dataset.patients) {
      expect(patient.slices.map((s) => basename(s.path, '.dcm'))).toEqual(byStudy.get(patient.id)!.images);
    }
    const anyColumn = 5;
    const positiveAny = dataset.patients.reduce((sum, p) => sum + p.sliceTargets!.filter((row) => row[anyColumn] === 1).length, 0);
    expect(positiveAny).toBe(summary.positiveSlices.any);
    expect(dataset.patients.filter((p) => p.targets![anyColumn] === 1)).toHaveLength(summary.abnormalPatients);
  });

  it('streams windowed, resized batches and splits patients into folds', async () => {
    const dataset = await loadDataset({ name: 'rsna-ich', root: work, cacheDir: null });
    const before = tf.memory().numTensors;
    const loader = new PatientLoader(dataset, { batchSize: 3, seed: 1, sliceTargets: true, maxSlices: 4 }, {
      pipeline: buildPreprocess([{ name: 'window' }, { name: 'resize', size: 8 }]),
    });
    const shapes: number[][] = [];
    await forEachBatch(loader.epoch(0), async (batch) => {
      shapes.push(batch.images.shape);
      const values = await batch.images.data();
      expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...values)).toBeLessThanOrEqual(1);
      expect(batch.sliceTargets!.shape).toEqual([batch.images.shape[0], batch.images.shape[1], 6]);
    });
    expect(shapes.map((s) => s[0])).toEqual([3, 3, 2]);
    expect(shapes.every((s) => s[1] <= 4 && s[2] === 8 && s[3] === 8 && s[4] === 3)).toBe(true);
    expect(tf.memory().numTensors).toBe(before);

    const folds = kFold(splitItems(dataset.patients), { k: 4, seed: 1 });
    expect(folds.flatMap((f) => f.val).sort()).toEqual(dataset.patients.map((p) => p.id).sort());
  });
});

describe('inspectDataset', () => {
  it('reports patients, slice counts, order, labels and bad files', async () => {
    const longest = records.filter((r) => r.split === 'train').sort((a, b) => b.slices - a.slices)[0];
    expect(longest.slices).toBeGreaterThanOrEqual(4);
    const victim = join(work, 'stage_2_train', `${longest.images[1]}.dcm`);
    const original = readFileSync(victim);
    writeFileSync(victim, 'broken');
    try {
      const report = await inspectDataset(work, { name: 'rsna-ich', cacheDir: null });
      expect(report.patients).toBe(summary.trainPatients);
      expect(report.slices.total).toBe(summary.trainImages - 1);
      expect(report.order.byRule).toEqual({ position: summary.trainPatients, instance: 0, name: 0 });
      expect(report.skipped).toEqual([{ file: victim, reason: expect.stringMatching(/^unreadable: /) }]);
      // The patient that lost a slice now has a gap twice its usual spacing.
      expect(report.order.irregularSpacing).toEqual([longest.studyInstanceUid]);
      expect(report.labels!.find((l) => l.column === 'any')!.patients['1']).toBe(summary.abnormalPatients);
      const text = formatDatasetReport(report);
      expect(text).toContain(`patients  ${summary.trainPatients}`);
      expect(text).toMatch(/bad files 1\n.*broken|bad files 1\n.*unreadable/);
      expect(text).toMatch(/irregular spacing/);
    } finally {
      writeFileSync(victim, original);
    }
  });
});
