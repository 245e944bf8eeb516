import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../../src/data/datasets/registry.ts';
import { denseDamageTypes, writeDenseOrdinalDemo } from '../../src/data/demo/dense-ordinal.ts';
import { MANIFEST_CSV, MANIFEST_GROUND_TRUTH } from '../../src/data/demo/manifest-demo.ts';
import { readImage } from '../../src/data/readers/image.ts';
import { jointIndex } from '../../src/labels/dense-ordinal.ts';

let dir: string;
let truth: { group: Record<string, unknown>; combinations: { train: number; test: number; testUnseenInTraining: number; testPixelsOfUnseenCombinations: number } };
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sliceseq-dense-demo-'));
  await writeDenseOrdinalDemo(dir, { patients: 15, seed: 2, size: 32 });
  truth = JSON.parse(readFileSync(join(dir, MANIFEST_GROUND_TRUTH), 'utf8'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Per image: its split and per pixel the four grades, read back from the mask files through the manifest dataset. */
async function readMaps(): Promise<Array<{ id: string; test: boolean; grades: number[][] }>> {
  const dataset = await loadDataset({
    name: 'manifest', root: dir, csv: MANIFEST_CSV, orderColumn: 'slice', cacheDir: null, splitColumn: 'split',
    masks: { group: truth.group, columns: denseDamageTypes.map((type) => `mask_${type}`) },
  });
  const test = new Set(dataset.testIds);
  return Promise.all(
    dataset.patients.map(async (patient) => {
      const masks = await Promise.all(patient.sliceMasks![0].paths.map((path) => readImage(path)));
      const grades = Array.from({ length: 32 * 32 }, (_, i) => masks.map((mask) => mask.data[i]));
      expect(patient.slices.map((s) => relative(dir, s.path))).toEqual([`images/${patient.id}/0.png`]);
      return { id: patient.id, test: test.has(patient.id), grades };
    }),
  );
}

describe('dense-ordinal demo', () => {
  it('holds out every fifth image as the test split, with graded masks 0..3 of the image size', async () => {
    const maps = await readMaps();
    expect(maps.filter((m) => m.test).map((m) => m.id)).toEqual(['S0005', 'S0010', 'S0015']);
    const all = maps.flatMap((m) => m.grades.flat());
    expect(new Set(all)).toEqual(new Set([0, 1, 2, 3]));
    const image = await readImage(join(dir, 'images/S0001/0.png'));
    expect([image.rows, image.cols, image.channels]).toEqual([32, 32, 3]);
  });

  it('never overlaps erythema with scaling or crusting with lichenification in training; every test image does', async () => {
    const maps = await readMaps();
    const heldOut = (g: number[]) => (g[0] > 0 && g[1] > 0) || (g[2] > 0 && g[3] > 0);
    for (const { id, test, grades } of maps) expect(grades.some(heldOut), id).toBe(test);
    // The recorded count of test combinations absent from training is what the masks hold.
    const seen = new Set(maps.filter((m) => !m.test).flatMap((m) => m.grades.map((g) => jointIndex(g, 4))));
    const unseenPixels = maps.filter((m) => m.test).flatMap((m) => m.grades).filter((g) => !seen.has(jointIndex(g, 4)));
    expect(unseenPixels.length).toBe(truth.combinations.testPixelsOfUnseenCombinations);
    expect(unseenPixels.length).toBeGreaterThan(0);
  });

  it('draws erythema as redness that grows with the grade', async () => {
    const maps = await readMaps();
    const redness: number[][] = [[], [], [], []];
    for (const { id, grades } of maps) {
      const image = await readImage(join(dir, `images/${id}/0.png`));
      grades.forEach((g, i) => {
        if (g[2] === 0) redness[g[0]].push(image.data[i * 3] - image.data[i * 3 + 1]);
      });
    }
    const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
    const means = redness.map(mean);
    expect(means[1]).toBeGreaterThan(means[0] + 10);
    expect(means[3]).toBeGreaterThan(means[1] + 20);
  });

  it('refuses a size the U-Net cannot halve three times', async () => {
    await expect(writeDenseOrdinalDemo(join(dir, 'bad'), { patients: 2, seed: 0, size: 36 })).rejects.toThrow(/size: 36 is not a multiple of 8/);
  });
});
