import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import sharp from 'sharp';
import { loadDataset } from '../../src/data/datasets/registry.ts';
import { parseCsv } from '../../src/data/datasets/csv.ts';
import { PatientLoader, forEachBatch } from '../../src/data/loader.ts';
import { readSlices } from '../../src/data/readers/index.ts';
import { useBackend } from '../helpers/backend.ts';
import { sliceId } from '../../src/data/patients.ts';

const rsnaFixture = join(import.meta.dirname, '../fixtures/datasets/rsna-mini');
const expectedRsna = JSON.parse(readFileSync(join(rsnaFixture, 'expected.json'), 'utf8')) as { series: Record<string, string[]> };

/** binary + categorical + ordinal: targets [bleed, fracture | liver_healthy, liver_low, liver_high | kidney, spleen]. */
const labels = {
  groups: [
    { kind: 'binary', name: 'findings', classes: ['bleed', 'fracture'] },
    { kind: 'categorical', name: 'liver', classes: ['healthy', 'low', 'high'] },
    { kind: 'ordinal', name: 'damage', classes: ['kidney', 'spleen'], levels: 3 },
  ],
};

let work: string;
const png = (path: string, value: number) =>
  sharp(Buffer.alloc(16, value), { raw: { width: 4, height: 4, channels: 1 } }).png().toFile(path);

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'sliceseq-datasets-'));
  // folders layout: p1 (3 slices), p2 (2 slices), p3 (1 slice); names chosen so natural order ≠ plain sort.
  const slices: Record<string, string[]> = { p1: ['s10.png', 's2.png', 's1.png'], p2: ['b.png', 'a.png'], p3: ['only.png'] };
  for (const [patient, names] of Object.entries(slices)) {
    mkdirSync(join(work, 'folders', patient), { recursive: true });
    for (const name of names) await png(join(work, 'folders', patient, name), Number(name.replace(/\D/g, '') || name.charCodeAt(0)));
  }
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const path = join(work, name);
  writeFileSync(path, text);
  return path;
}

describe('csv', () => {
  it('parses quoted fields and reports 1-based lines', () => {
    const table = parseCsv('a,b\r\n"x, ""y""",2\n\n"multi\nline",3\n', 'f.csv');
    expect(table.rows.map((r) => [r.line, r.cells.a, r.cells.b])).toEqual([[2, 'x, "y"', '2'], [4, 'multi\nline', '3']]);
    expect(() => parseCsv('a,b\n1\n', 'f.csv')).toThrow('f.csv line 2: expected 2 fields (a,b), got 1');
    expect(() => parseCsv('a,a\n', 'f.csv')).toThrow(/duplicate column 'a'/);
    expect(() => parseCsv('a\n"open\n', 'f.csv')).toThrow('f.csv line 2: unterminated quoted field');
  });
});

describe('manifest dataset', () => {
  const header = 'patient_id,path,z,bleed,fracture,liver,kidney,spleen';
  const manifestRows = [
    'p1,folders/p1/s1.png,3,0,1,low,2,0',
    'p1,folders/p1/s2.png,1,0,1,low,2,0',
    'p1,folders/p1/s10.png,2,0,1,low,2,0',
    'p2,folders/p2/a.png,5,1,0,high,0,1',
  ];

  it('reads patients, orders by the order column, parses every label kind', async () => {
    const csv = write('manifest.csv', [header, ...manifestRows].join('\n'));
    const dataset = await loadDataset({ name: 'manifest', csv, orderColumn: 'z', labels, cacheDir: null });
    expect(dataset.patients.map((p) => [p.id, p.slices.map((s) => basename(s.path))])).toEqual([
      ['p1', ['s2.png', 's10.png', 's1.png']],
      ['p2', ['a.png']],
    ]);
    expect(Array.from(dataset.patients[0].targets!)).toEqual([0, 1, 0, 1, 0, 2, 0]);
    expect(Array.from(dataset.patients[1].targets!)).toEqual([1, 0, 0, 0, 1, 0, 1]);
    expect(dataset.sliceLabelled).toBe(false);
    // Slices are named by the path cell as written.
    expect(dataset.patients[0].slices.map(sliceId)).toEqual(['folders/p1/s2.png', 'folders/p1/s10.png', 'folders/p1/s1.png']);
  });

  it('names slices by the id column when there is one, which must be unique', async () => {
    const rows = manifestRows.map((row, i) => `${row},img-${i}`);
    const csv = write('id-manifest.csv', [`${header},image_id`, ...rows].join('\n'));
    const dataset = await loadDataset({ name: 'manifest', csv, orderColumn: 'z', labels, idColumn: 'image_id', cacheDir: null });
    expect(dataset.patients.map((p) => p.slices.map(sliceId))).toEqual([['img-1', 'img-2', 'img-0'], ['img-3']]);
    const clash = write('id-clash.csv', [`${header},image_id`, `${manifestRows[0]},x`, `${manifestRows[1]},x`].join('\n'));
    await expect(loadDataset({ name: 'manifest', csv: clash, orderColumn: 'z', labels, idColumn: 'image_id', cacheDir: null })).rejects.toThrow(
      /id-clash.csv line 3: duplicate 'image_id' x \(first at line 2\)/,
    );
  });

  it('orders DICOM slices from their headers when there is no order column', async () => {
    const ids = Object.values(expectedRsna.series)[1];
    const rows = [...ids].reverse().map((id) => `oblique,${relative(work, join(rsnaFixture, 'stage_2_train', `${id}.dcm`))}`);
    const csv = write('dicom-manifest.csv', ['patient_id,path', ...rows].join('\n'));
    const dataset = await loadDataset({ name: 'manifest', csv, cacheDir: null });
    expect(dataset.patients[0].slices.map((s) => basename(s.path, '.dcm'))).toEqual(ids);
    expect(dataset.labelled).toBe(false);
    expect(dataset.orderChecks.oblique.rule).toBe('position');
  });

  it('slice-level labels: slice targets plus a patient row (any positive, highest grade)', async () => {
    const rows = ['p1,folders/p1/s1.png,1,1,0,low,1,0', 'p1,folders/p1/s2.png,2,0,0,low,2,0', 'p1,folders/p1/s10.png,3,0,0,low,0,1'];
    const csv = write('slice-manifest.csv', [header, ...rows].join('\n'));
    const dataset = await loadDataset({ name: 'manifest', csv, orderColumn: 'z', labels, labelLevel: 'slice', cacheDir: null });
    const [patient] = dataset.patients;
    expect(patient.sliceTargets!.map((row) => [row[0], row[5], row[6]])).toEqual([[1, 1, 0], [0, 2, 0], [0, 0, 1]]);
    expect(Array.from(patient.targets!)).toEqual([1, 0, 0, 1, 0, 2, 1]);
  });

  it.each([
    ['a missing file', 'p1,folders/p1/nope.png,1,0,0,low,0,0', /line 2: .*nope.png: file not found/],
    ['a value other than 0/1', 'p1,folders/p1/s1.png,1,0,5,low,0,0', /line 2: column 'fracture': expected 0 or 1, got '5'/],
    ['an unknown class', 'p1,folders/p1/s1.png,1,0,0,medium,0,0', /line 2: column 'liver': 'medium' is not one of healthy, low, high/],
    ['a grade out of range', 'p1,folders/p1/s1.png,1,0,0,low,3,0', /line 2: column 'kidney': expected an integer grade 0..2, got '3'/],
    ['a non-numeric order key', 'p1,folders/p1/s1.png,up,0,0,low,0,0', /line 2: 'z' must be a number, got 'up'/],
  ])('%s is an error naming the file and line', async (_, row, message) => {
    const csv = write('bad-manifest.csv', [header, row].join('\n'));
    await expect(loadDataset({ name: 'manifest', csv, orderColumn: 'z', labels, cacheDir: null })).rejects.toThrow(message);
  });

  it('duplicate rows, disagreeing patient labels, a missing column', async () => {
    const load = (rows: string[], head = header) =>
      loadDataset({ name: 'manifest', csv: write('bad-manifest.csv', [head, ...rows].join('\n')), orderColumn: 'z', labels, cacheDir: null });
    await expect(load([manifestRows[0], manifestRows[1], manifestRows[0]])).rejects.toThrow(/line 4: duplicate slice folders\/p1\/s1.png \(first at line 2\)/);
    await expect(load([manifestRows[0], manifestRows[1].replace('low', 'high')])).rejects.toThrow(/line 3: labels differ from line 2 of patient 'p1'/);
    await expect(load([manifestRows[0].replace(/,0$/, '')], header.replace(',spleen', ''))).rejects.toThrow(/bad-manifest.csv line 1: missing column 'spleen'/);
  });

  it("onBadFile 'skip' keeps the good rows and lists the bad ones", async () => {
    const rows = [...manifestRows, 'p2,folders/p2/missing.png,6,1,0,high,0,1', 'p3,folders/p3/only.png,1,1,0,bad,0,0'];
    const csv = write('skip-manifest.csv', [header, ...rows].join('\n'));
    const dataset = await loadDataset({ name: 'manifest', csv, orderColumn: 'z', labels, onBadFile: 'skip', cacheDir: null });
    expect(dataset.patients.map((p) => p.id)).toEqual(['p1', 'p2']);
    expect(dataset.skipped.map((s) => [s.line, s.reason])).toEqual([
      [7, "column 'liver': 'bad' is not one of healthy, low, high"],
      [6, expect.stringMatching(/missing.png: file not found$/)],
      [7, "patient 'p3' has no readable slices: none of its 1 row(s) is usable"],
    ]);
  });
});

describe('folders dataset', () => {
  const labelsHeader = 'patient_id,bleed,fracture,liver,kidney,spleen';

  it('one folder per patient, slices in natural file-name order, labels by patient id', async () => {
    write('folders/labels.csv', [labelsHeader, 'p2,1,0,healthy,1,1', 'p1,0,0,high,0,2', 'p3,0,1,low,0,0'].join('\n'));
    const dataset = await loadDataset({ name: 'folders', root: join(work, 'folders'), labelsCsv: 'labels.csv', labels, cacheDir: null });
    expect(dataset.patients.map((p) => [p.id, p.slices.map((s) => basename(s.path))])).toEqual([
      ['p1', ['s1.png', 's2.png', 's10.png']],
      ['p2', ['a.png', 'b.png']],
      ['p3', ['only.png']],
    ]);
    expect(Array.from(dataset.patients[0].targets!)).toEqual([0, 0, 0, 0, 1, 0, 2]);
    expect(dataset.orderChecks.p1.rule).toBe('name');
  });

  it('bad label CSVs and folders are errors naming the file and line, or skipped', async () => {
    const root = join(work, 'folders');
    const load = (rows: string[], onBadFile = 'error') => {
      write('folders/labels.csv', [labelsHeader, ...rows].join('\n'));
      return loadDataset({ name: 'folders', root, labelsCsv: 'labels.csv', labels, onBadFile, cacheDir: null });
    };
    const good = ['p1,0,0,high,0,2', 'p2,1,0,healthy,1,1', 'p3,0,1,low,0,0'];
    await expect(load([...good, 'p9,0,0,low,0,0'])).rejects.toThrow(/labels.csv line 5: no patient folder .*p9 for 'p9'/);
    await expect(load([...good, 'p1,0,0,low,0,0'])).rejects.toThrow(/labels.csv line 5: duplicate patient 'p1' \(first at line 2\)/);
    await expect(load(good.slice(0, 2))).rejects.toThrow(/p3: patient 'p3' has no row in .*labels.csv/);

    mkdirSync(join(root, 'p4'));
    writeFileSync(join(root, 'p4', 'broken.png'), 'not a png');
    await expect(load([...good, 'p4,0,0,low,0,0'])).rejects.toThrow(/broken.png: unreadable: cannot decode image/);
    const skipped = await load([...good, 'p4,0,0,low,0,0', 'p9,0,0,low,0,0'], 'skip');
    expect(skipped.patients.map((p) => p.id)).toEqual(['p1', 'p2', 'p3']);
    expect(skipped.skipped.map((s) => s.reason.replace(/\(.*/, '').trim())).toEqual([
      expect.stringMatching(/^no patient folder/),
      expect.stringMatching(/^unreadable: cannot decode image/),
      "patient 'p4' has no readable slices",
    ]);
    rmSync(join(root, 'p4'), { recursive: true });
  });

  it('a NIfTI volume in a patient folder gives one slice per frame, read once by the loader', async () => {
    const niftiFixture = join(import.meta.dirname, '../fixtures/nifti');
    const expected = JSON.parse(readFileSync(join(niftiFixture, 'expected.json'), 'utf8')) as {
      axes: Record<string, Array<{ values: number[]; imagePosition: number[] }>>;
    };
    mkdirSync(join(work, 'volumes', 'patientA'), { recursive: true });
    cpSync(join(niftiFixture, 'volume.nii.gz'), join(work, 'volumes', 'patientA', 'volume.nii.gz'));
    const dataset = await loadDataset({ name: 'folders', root: join(work, 'volumes'), cacheDir: null });
    const [patient] = dataset.patients;
    const frames = patient.slices.map((s) => s.frame!);
    expect([...frames].sort()).toEqual([0, 1, 2, 3, 4]);
    expect(dataset.orderChecks.patientA.rule).toBe('position');

    await useBackend('cpu');
    let reads = 0;
    const loader = new PatientLoader(dataset, { batchSize: 1, seed: 0, shuffle: false }, {
      readSlices: (path) => {
        reads += 1;
        return readSlices(path);
      },
    });
    await forEachBatch(loader.epoch(0), async (batch) => {
      expect(batch.images.shape).toEqual([1, 5, 4, 3, 1]);
      const images = await batch.images.data();
      frames.forEach((frame, s) => expect(Array.from(images.subarray(s * 12, s * 12 + 12))).toEqual(expected.axes['2'][frame].values));
    });
    expect(reads).toBe(1);
  });

  it('needs labelsCsv and labels together', async () => {
    await expect(loadDataset({ name: 'folders', root: join(work, 'folders'), labelsCsv: 'labels.csv' })).rejects.toThrow(/labels: labelsCsv and labels go together/);
  });
});
