import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import { loadDataset } from '../../src/data/datasets/registry.ts';
import { parseTargetCells } from '../../src/data/datasets/targets.ts';
import { chestDemo, chestFindings, type ChestFinding } from '../../src/data/demo/chest.ts';
import { manifestDemoKinds } from '../../src/data/demo/kinds.ts';
import { MANIFEST_CSV, MANIFEST_GROUND_TRUTH, writeManifestDemo, type ManifestDemoKind } from '../../src/data/demo/manifest-demo.ts';
import { damageTypes, ordinalDemo, type DamageGrades } from '../../src/data/demo/ordinal.ts';
import { injuredOrgans, organsDemo, type OrganGrade, type OrganLabels } from '../../src/data/demo/organs.ts';
import type { Raster } from '../../src/data/demo/raster.ts';
import { readImage } from '../../src/data/readers/image.ts';
import { parseLabelSchema } from '../../src/labels/schema.ts';

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'sliceseq-demo-kinds-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** sha256 of every file under `dir`, by relative path. */
function digest(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (folder: string) => {
    for (const name of readdirSync(folder)) {
      const path = join(folder, name);
      if (statSync(path).isDirectory()) walk(path);
      else out[relative(dir, path)] = createHash('sha256').update(readFileSync(path)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

/** Per pixel, rendered-with minus rendered-without, over every slice. */
function difference(withFinding: Raster[], without: Raster[]): number[] {
  return withFinding.flatMap((raster, k) => Array.from(raster.data, (value, i) => value - without[k].data[i]));
}

/** Pixels a finding visibly changed (by more than anti-aliasing and rounding could). */
const changed = (diff: number[]) => diff.filter((d) => Math.abs(d) > 20);

describe.each(Object.keys(manifestDemoKinds))('demo kind %s', (name) => {
  it('is deterministic in the seed: same options give byte-identical files, another seed other files', async () => {
    const writer = manifestDemoKinds[name];
    const options = { patients: 4, seed: 3, size: 24, slices: [1, 3] as [number, number] };
    await writer.write(join(work, `${name}-a`), options);
    await writer.write(join(work, `${name}-b`), options);
    await writer.write(join(work, `${name}-c`), { ...options, seed: 4 });
    const [a, b, c] = ['a', 'b', 'c'].map((run) => digest(join(work, `${name}-${run}`)));
    expect(Object.keys(a).length).toBeGreaterThan(4);
    expect(b).toEqual(a);
    expect(c[MANIFEST_CSV]).not.toBe(a[MANIFEST_CSV]);
  });

  // Dense maps have no label columns; test/data/demo-dense-ordinal.test.ts loads that kind with its masks.
  it.skipIf(name === 'dense-ordinal')('loads through the manifest dataset with the labels the generator drew, slices in order', async () => {
    const dir = join(work, `${name}-a`);
    const truth = JSON.parse(readFileSync(join(dir, MANIFEST_GROUND_TRUTH), 'utf8'));
    const schema = parseLabelSchema(truth.labels);
    const dataset = await loadDataset({ name: 'manifest', root: dir, csv: MANIFEST_CSV, orderColumn: 'slice', labels: truth.labels, cacheDir: null });
    expect(dataset.patients.map((p) => p.id)).toEqual(truth.patients.map((p: { id: string }) => p.id));
    const kind = { organs: organsDemo, ordinal: ordinalDemo, chest: chestDemo }[name] as ManifestDemoKind<unknown>;
    dataset.patients.forEach((patient, p) => {
      const recorded = truth.patients[p];
      expect(Array.from(patient.targets!)).toEqual(Array.from(parseTargetCells(schema, kind.cells(recorded.labels))));
      expect(patient.slices.map((s) => relative(dir, s.path))).toEqual(Array.from({ length: recorded.slices }, (_, k) => join('images', recorded.id, `${k}.png`)));
    });
    const slice = await readImage(dataset.patients[0].slices[0].path);
    expect([slice.rows, slice.cols, slice.channels]).toEqual([24, 24, 1]);
  });
});

describe('organs demo: what is drawn matches the labels', () => {
  const healthy: OrganLabels = { bowel_injury: false, extravasation: false, organs: { liver: 'healthy', spleen: 'healthy', kidney: 'healthy' } };
  const render = (labels: OrganLabels) => organsDemo.render(labels, 11, { size: 48, slices: 2 });
  const withGrade = (organ: (typeof injuredOrgans)[number], grade: OrganGrade): OrganLabels => ({ ...healthy, organs: { ...healthy.organs, [organ]: grade } });

  it.each(injuredOrgans)('%s: low-grade injury darkens some pixels, high-grade more, healthy none', (organ) => {
    const base = render(healthy);
    expect(changed(difference(render(withGrade(organ, 'healthy')), base))).toHaveLength(0);
    const low = changed(difference(render(withGrade(organ, 'low')), base));
    const high = changed(difference(render(withGrade(organ, 'high')), base));
    expect(low.length).toBeGreaterThan(4);
    expect(high.length).toBeGreaterThan(low.length);
    expect([...low, ...high].every((d) => d < 0)).toBe(true);
  });

  it('bowel injury adds black free-air bubbles, extravasation contrast-bright spots', () => {
    const base = render(healthy);
    const air = render({ ...healthy, bowel_injury: true });
    const bleed = render({ ...healthy, extravasation: true });
    const darkened = air.flatMap((r, k) => Array.from(r.data).filter((v, i) => v - base[k].data[i] < -20));
    const brightened = bleed.flatMap((r, k) => Array.from(r.data).filter((v, i) => v - base[k].data[i] > 20));
    expect(darkened.length).toBeGreaterThan(4);
    expect(Math.min(...darkened)).toBeLessThan(25);
    expect(brightened.length).toBeGreaterThan(4);
    expect(Math.max(...brightened)).toBeGreaterThan(230);
  });
});

describe('ordinal demo: each damage grade is drawn as a larger lesion', () => {
  it.each(damageTypes)('%s: grade 0 draws nothing, grades 1 < 2 < 3 change ever more pixels', (type) => {
    const none = Object.fromEntries(damageTypes.map((t) => [t, 0])) as DamageGrades;
    const render = (grade: number) => ordinalDemo.render({ ...none, [type]: grade }, 5, { size: 48, slices: 3 });
    const base = render(0);
    const counts = [1, 2, 3].map((grade) => changed(difference(render(grade), base)).length);
    expect(counts[0]).toBeGreaterThan(2);
    expect(counts[1]).toBeGreaterThan(counts[0]);
    expect(counts[2]).toBeGreaterThan(counts[1]);
  });
});

describe('chest demo: each finding is drawn, no finding draws nothing', () => {
  /** Over-inflated lungs and air outside the lung are darker; a hiatal hernia is a density with a gas cap; the rest add density. */
  const darker: ChestFinding[] = ['Pneumothorax', 'Emphysema'];

  it.each(chestFindings)('%s', (finding) => {
    const base = chestDemo.render([], 21, { size: 64, slices: 1 });
    const diff = changed(difference(chestDemo.render([finding], 21, { size: 64, slices: 1 }), base));
    expect(diff.length).toBeGreaterThan(3);
    if (finding === 'Hernia') {
      expect(diff.some((d) => d > 0) && diff.some((d) => d < 0)).toBe(true);
    } else if (darker.includes(finding)) {
      expect(diff.every((d) => d < 0)).toBe(true);
    } else {
      expect(diff.every((d) => d > 0)).toBe(true);
    }
  });

  it('about 40% of patients have no finding; the others one to three, every finding turning up', () => {
    const draws = Array.from({ length: 600 }, (_, i) => chestDemo.drawLabels(Rng.derive(2, 'chest-labels', i)));
    const none = draws.filter((d) => d.length === 0).length / draws.length;
    expect(none).toBeGreaterThan(0.33);
    expect(none).toBeLessThan(0.47);
    expect(Math.max(...draws.map((d) => d.length))).toBe(3);
    expect(new Set(draws.flat())).toEqual(new Set(chestFindings));
  });
});

describe('writeManifestDemo', () => {
  it('reports per-value counts and rejects bad options naming the field', async () => {
    const summary = await writeManifestDemo(join(work, 'counts'), ordinalDemo, { patients: 6, seed: 1, size: 16, slices: 1 });
    expect(summary.images).toBe(6);
    for (const type of damageTypes) {
      expect(Object.keys(summary.counts[type])).toEqual(['0', '1', '2', '3']);
      expect(Object.values(summary.counts[type]).reduce((s, n) => s + n, 0)).toBe(6);
    }
    await expect(writeManifestDemo(join(work, 'bad'), ordinalDemo, { patients: 2, seed: 1, slices: [4, 2] })).rejects.toThrow(/slices: min must not exceed max/);
    await expect(writeManifestDemo(join(work, 'bad'), ordinalDemo, { patients: 2, seed: 1, size: 8 })).rejects.toThrow(/size/);
  });
});
