import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { log } from '../../src/core/log.ts';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { loadDataset } from '../../src/data/datasets/registry.ts';
import { defaultCacheDir, scanIndexDir } from '../../src/data/datasets/scan.ts';
import { readDicomMeta } from '../../src/data/readers/dicom.ts';
import { sliceId, type Patient } from '../../src/data/patients.ts';
import { imageId, sliceLabels, writeScaleDataset } from '../../bench/scale-data.ts';

const fixture = join(import.meta.dirname, '../fixtures/datasets/rsna-mini');
const expected = JSON.parse(readFileSync(join(fixture, 'expected.json'), 'utf8')) as {
  studies: Record<string, string[]>;
  series: Record<string, string[]>;
  test: Record<string, string[]>;
};
const csvLines = readFileSync(join(fixture, 'stage_2_train.csv'), 'utf8').trim().split('\n');
const subtypes = ['epidural', 'intraparenchymal', 'intraventricular', 'subarachnoid', 'subdural', 'any'];

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'sliceseq-rsna-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const imageIds = (patient: Patient) => patient.slices.map((s) => basename(s.path, '.dcm'));

/** Label value of image `id`, subtype `subtype`, from the fixture CSV. */
function csvLabel(id: string, subtype: string): number {
  return Number(csvLines.find((line) => line.startsWith(`${id}_${subtype},`))!.split(',')[1]);
}

/** Writes a label CSV (header + rows) and returns its path. */
function writeCsv(name: string, rows: string[], header = 'ID,Label'): string {
  const path = join(work, name);
  writeFileSync(path, `${header}\n${rows.join('\n')}\n`);
  return path;
}

const rsna = (options: Record<string, unknown> = {}) =>
  loadDataset({ name: 'rsna-ich', root: fixture, cacheDir: null, ...options });

describe('rsna-ich dataset', () => {
  it('groups slices by study, orders them along the normal, and reads slice and patient labels', async () => {
    const dataset = await rsna();
    expect(dataset.labelled && dataset.sliceLabelled).toBe(true);
    expect(dataset.labelSchema!.groups[0].classes).toEqual(subtypes);
    expect(dataset.patients.map((p) => p.id).sort()).toEqual(Object.keys(expected.studies).sort());
    for (const patient of dataset.patients) {
      expect(imageIds(patient)).toEqual(expected.studies[patient.id]);
      // Each slice is named by its image id, the key of the label CSV and of a submission.
      expect(patient.slices.map(sliceId)).toEqual(expected.studies[patient.id]);
      imageIds(patient).forEach((id, s) =>
        expect(Array.from(patient.sliceTargets![s])).toEqual(subtypes.map((t) => csvLabel(id, t))),
      );
      const anyPositive = subtypes.map((_, c) => Math.max(...patient.sliceTargets!.map((row) => row[c])));
      expect(Array.from(patient.targets!)).toEqual(anyPositive);
    }
    expect(Object.values(dataset.orderChecks).every((check) => check.rule === 'position')).toBe(true);
  });

  it('groups by series when asked, and can leave out the any label', async () => {
    const dataset = await rsna({ groupBy: 'series', includeAny: false });
    expect(dataset.patients).toHaveLength(4);
    for (const patient of dataset.patients) expect(imageIds(patient)).toEqual(expected.series[patient.id]);
    expect(dataset.patients[0].targets).toHaveLength(5);
  });

  it('reads the test split without labels', async () => {
    const dataset = await rsna({ split: 'test' });
    expect(dataset.labelled).toBe(false);
    expect(dataset.patients.map((p) => [p.id, imageIds(p)])).toEqual(Object.entries(expected.test));
    expect(dataset.patients[0].targets).toBeUndefined();
  });

  it('reads a test split with labels when labelsCsv names them (a solution file with a Usage column)', async () => {
    const images = Object.values(expected.test).flat();
    const rows = images.flatMap((id, i) => subtypes.map((t) => `${id}_${t},${t === 'subdural' || t === 'any' ? i % 2 : 0},${i % 2 ? 'Public' : 'Private'}`));
    const labelsCsv = writeCsv('test-solution.csv', rows, 'ID,Label,Usage');
    const dataset = await rsna({ split: 'test', labelsCsv });
    expect(dataset.labelled && dataset.sliceLabelled).toBe(true);
    const slices = dataset.patients.flatMap((p) => p.slices.map((s, k) => [sliceId(s), Array.from(p.sliceTargets![k])] as const));
    expect(new Map(slices)).toEqual(new Map(images.map((id, i) => [id, subtypes.map((t) => (t === 'subdural' || t === 'any' ? i % 2 : 0))])));
  });

  it('caches the header scan and re-reads only changed files', async () => {
    const root = join(work, 'scan-copy');
    cpSync(fixture, root, { recursive: true });
    const cacheDir = join(work, 'scan-cache');
    const read: string[] = [];
    const readMeta = async (path: string) => {
      read.push(basename(path));
      return [await readDicomMeta(path)];
    };
    const load = () => loadDataset({ name: 'rsna-ich', root, cacheDir }, { readMeta });
    const first = await load();
    expect(read).toHaveLength(14);
    read.length = 0;
    const second = await load();
    expect(read).toHaveLength(0);
    expect(second.patients).toEqual(first.patients);
    const touched = join(root, 'stage_2_train', `${expected.studies[Object.keys(expected.studies)[0]][0]}.dcm`);
    utimesSync(touched, new Date(), new Date(Date.now() + 5000));
    await load();
    expect(read).toEqual([basename(touched)]);
  });

  describe('bad label CSVs name the file and line', () => {
    const ids = Object.values(expected.studies).flat();
    const rowsFor = (id: string, values: number[] = [0, 0, 0, 0, 0, 0]) => subtypes.map((t, i) => `${id}_${t},${values[i]}`);
    const allRows = () => ids.flatMap((id) => rowsFor(id));

    it('a value other than 0/1', async () => {
      const rows = allRows();
      rows[7] = rows[7].replace(/,0$/, ',2');
      const labelsCsv = writeCsv('bad-value.csv', rows);
      await expect(rsna({ labelsCsv })).rejects.toThrow(new RegExp(`bad-value.csv line 9: Label must be 0 or 1, got '2'`));
    });

    it('an id with no image, and an image with no label rows', async () => {
      const withUnknown = writeCsv('unknown.csv', [...allRows(), ...rowsFor('ID_0000000aa')]);
      await expect(rsna({ labelsCsv: withUnknown })).rejects.toThrow(/unknown.csv line 86: no image .*ID_0000000aa.dcm/);
      const missingImage = writeCsv('missing.csv', allRows().slice(6));
      await expect(rsna({ labelsCsv: missingImage })).rejects.toThrow(new RegExp(`${ids[0]}.dcm: no label rows in .*missing.csv`));
    });

    it('duplicate rows, missing subtype rows, an inconsistent any, a wrong header', async () => {
      const rows = allRows();
      const conflicting = rows[3].replace(/,0$/, ',1');
      await expect(rsna({ labelsCsv: writeCsv('dup.csv', [...rows, conflicting]) })).rejects.toThrow(
        /dup.csv line 86: duplicate row for .* with a different Label than line 5/,
      );
      // Identical repeats (the real stage_2_train.csv has some) are listed, not fatal.
      const repeated = await rsna({ labelsCsv: writeCsv('same.csv', [...rows, rows[3]]) });
      expect(repeated.skipped).toEqual([{ file: join(work, 'same.csv'), line: 86, kind: 'identical duplicate rows (ignored)', reason: expect.stringMatching(/same Label as line 5; ignored/) }]);
      expect(repeated.patients.flatMap((p) => p.slices)).toHaveLength(14);
      await expect(rsna({ labelsCsv: writeCsv('partial.csv', rows.filter((r) => r !== rows[2])) })).rejects.toThrow(
        new RegExp(`partial.csv line 2: ${ids[0]} has no row for intraventricular`),
      );
      const anyWrong = [...rowsFor(ids[0], [1, 0, 0, 0, 0, 0]), ...allRows().slice(6)];
      await expect(rsna({ labelsCsv: writeCsv('any.csv', anyWrong) })).rejects.toThrow(/any.csv line 7: .*_any is 0 but its subtypes say 1/);
      await expect(rsna({ labelsCsv: writeCsv('header.csv', rows, 'Image,Value') })).rejects.toThrow(/header.csv line 1: expected the header 'ID,Label'/);
      await expect(rsna({ labelsCsv: writeCsv('subtype.csv', [...rows, `${ids[0]}_bleed,1`]) })).rejects.toThrow(/subtype.csv line 86: unknown subtype 'bleed'/);
    });

    it("onBadFile 'skip' leaves bad items out and lists them", async () => {
      const rows = allRows();
      const conflicting = `${rows[0].slice(0, -1)}1`;
      const labelsCsv = writeCsv('skip.csv', [...rows, conflicting, ...rowsFor('ID_0000000bb')]);
      const dataset = await rsna({ labelsCsv, onBadFile: 'skip' });
      expect(dataset.skipped.map((item) => [item.line, item.reason.split(' (')[0]])).toEqual([
        [86, `duplicate row for ${ids[0]}_epidural with a different Label than line 2`],
        [2, `conflicting duplicate rows for ${ids[0]}`],
        [87, `no image ${join(fixture, 'stage_2_train', 'ID_0000000bb.dcm')} for ID_0000000bb`],
      ]);
      const slices = dataset.patients.flatMap(imageIds);
      expect(slices).toHaveLength(13);
      expect(slices).not.toContain(ids[0]);
    });
  });

  it("the competition's label oddities (a duplicated ID, IDs with no file, files with no labels): one line per kind, or one error", async () => {
    const ids = Object.values(expected.studies).flat();
    const rowsFor = (id: string) => subtypes.map((t) => `${id}_${t},0`);
    // ids[0..2] have no label rows; four IDs have no file; ids[3] is listed twice in full, as stage_2_train.csv lists one image.
    const ghosts = ['ID_0000000c1', 'ID_0000000c2', 'ID_0000000c3', 'ID_0000000c4'];
    const rows = [...ids.slice(3).flatMap(rowsFor), ...rowsFor(ids[3]), ...ghosts.flatMap(rowsFor)];
    const labelsCsv = writeCsv('oddities.csv', rows);
    const warn = vi.spyOn(log, 'warn').mockImplementation(() => {});
    try {
      const dataset = await rsna({ labelsCsv, onBadFile: 'skip' });
      expect(dataset.patients.flatMap(imageIds)).toHaveLength(ids.length - 3);
      const summary = warn.mock.calls.map(([message]) => message).find((message) => message.includes('skipped'))!;
      const lines = summary.split('\n').slice(1);
      expect(lines).toHaveLength(3); // one per kind, not one per row or file
      expect(lines[0]).toMatch(/^ {2}identical duplicate rows \(ignored\): 6 \(.*oddities.csv line 68, .*oddities.csv line 69, .*oddities.csv line 70, …\)$/);
      expect(lines[1]).toMatch(/^ {2}label rows with no image file: 4 \(.*oddities.csv line 74, .*line 80, .*line 86, …\)$/);
      expect(lines[2]).toContain(`image files with no label rows: 3 (${ids.slice(0, 3).map((id) => join(fixture, 'stage_2_train', `${id}.dcm`)).sort().join(', ')})`);
      expect(dataset.skipped.filter((item) => item.kind === 'label rows with no image file').map((item) => item.reason)).toEqual(
        ghosts.map((id) => `no image ${join(fixture, 'stage_2_train', `${id}.dcm`)} for ${id}`),
      );
    } finally {
      warn.mockRestore();
    }
    // Under onBadFile 'error' (the default): one error naming the first of a kind and counting the others.
    await expect(rsna({ labelsCsv })).rejects.toThrow(/oddities.csv line 74: no image .*ID_0000000c1.dcm for ID_0000000c1; and 3 more label rows with no image file: .*line 80, .*line 86, .*line 92 \(set onBadFile: 'skip'/);
  });

  it('an unreadable DICOM is an error naming it, or skipped with its reason', async () => {
    const root = join(work, 'corrupt');
    cpSync(fixture, root, { recursive: true });
    const victim = join(root, 'stage_2_train', `${Object.values(expected.studies)[1][2]}.dcm`);
    writeFileSync(victim, 'not a dicom file');
    await expect(loadDataset({ name: 'rsna-ich', root, cacheDir: null })).rejects.toThrow(new RegExp(`${victim}: unreadable`));
    const dataset = await loadDataset({ name: 'rsna-ich', root, cacheDir: null, onBadFile: 'skip' });
    expect(dataset.skipped).toHaveLength(1);
    expect(dataset.skipped[0]).toMatchObject({ file: victim, reason: expect.stringMatching(/^unreadable: /) });
    expect(dataset.patients.flatMap((p) => p.slices)).toHaveLength(13);
  });

  it('bad pixel data (none, cut off) is found by the header scan: an error, or skipped and listed by inspect --dataset', async () => {
    const root = join(work, 'bad-pixels');
    cpSync(fixture, root, { recursive: true });
    const [first, second] = Object.values(expected.studies);
    const cut = join(root, 'stage_2_train', `${first[1]}.dcm`);
    const whole = readFileSync(cut);
    writeFileSync(cut, whole.subarray(0, whole.length - 100));
    const empty = join(root, 'stage_2_train', `${second[0]}.dcm`);
    cpSync(join(import.meta.dirname, '../fixtures/dicom/no_pixel_data.dcm'), empty);
    await expect(loadDataset({ name: 'rsna-ich', root, cacheDir: null })).rejects.toThrow(new RegExp(`${cut}: unreadable: truncated DICOM file`));
    const cli = join(import.meta.dirname, '../../bin/sliceseq.js');
    const run = spawnSync(process.execPath, [cli, 'inspect', root, '--dataset', 'rsna-ich', '--dataset-options', '{"cacheDir":null}'], { encoding: 'utf8' });
    expect(run.status, 'inspect --dataset exits 1 when it lists bad files').toBe(1);
    expect(run.stderr).toContain('skipped 2 bad item(s)');
    expect(run.stdout).toContain('bad files 2');
    expect(run.stdout).toContain(`${cut}: unreadable: truncated DICOM file (pixel data declares`);
    expect(run.stdout).toContain(`${empty}: unreadable: DICOM file has no pixel data (7FE0,0010)`);
    const dataset = await loadDataset({ name: 'rsna-ich', root, cacheDir: null, onBadFile: 'skip' });
    expect(dataset.skipped.map((item) => item.file).sort()).toEqual([cut, empty].sort());
    expect(dataset.patients.flatMap(imageIds)).toHaveLength(12);
  });

  it('a label row with too many fields is an error naming its line', async () => {
    const rows = csvLines.slice(1);
    rows[4] = `${rows[4]},extra`;
    await expect(rsna({ labelsCsv: writeCsv('extra.csv', rows) })).rejects.toThrow(/extra.csv line 6: expected 2 fields \(ID,Label\), got 3/);
  });

  it('`sliceseq inspect PATH --dataset rsna-ich` summarises the folder', () => {
    const cli = join(import.meta.dirname, '../../bin/sliceseq.js');
    const run = spawnSync(process.execPath, [cli, 'inspect', fixture, '--dataset', 'rsna-ich', '--dataset-options', '{"cacheDir":null}', '--json'], {
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({ kind: 'rsna-ich', patients: 3, slices: { total: 14, min: 4, median: 5, max: 5 }, skipped: [] });
    expect(report.order.byRule).toEqual({ position: 3, instance: 0, name: 0 });
  });

  it('the header-scan index has its own setting: the dataset option, else the caller\'s (inspect --index-dir), else the default', () => {
    expect(scanIndexDir('/own', '/caller')).toBe('/own');
    expect(scanIndexDir(null, '/caller')).toBeNull();
    expect(scanIndexDir(undefined, '/caller')).toBe('/caller');
    expect(scanIndexDir(undefined, null)).toBeNull();
    expect(scanIndexDir(undefined, undefined)).toBe(defaultCacheDir());
    const indexDir = join(work, 'index');
    const cli = join(import.meta.dirname, '../../bin/sliceseq.js');
    const run = spawnSync(process.execPath, [cli, 'inspect', fixture, '--dataset', 'rsna-ich', '--index-dir', indexDir, '--json'], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(readdirSync(indexDir).filter((name) => /^scan-[0-9a-f]{16}\.idx$/.test(name))).toHaveLength(1);
  });

  it('rejects unknown config keys, naming them', async () => {
    await expect(loadDataset({ name: 'rsna-ich', root: fixture, grouping: 'study' })).rejects.toThrow(/grouping/);
    await expect(loadDataset({ name: 'rsna', root: fixture })).rejects.toThrow(/unknown dataset 'rsna'; registered: rsna-ich, manifest, folders/);
  });
});

describe('rsna-ich at the scale benchmark\'s layout (bench/scale-data.ts)', () => {
  it('the warm load (index and fingerprint record present) gives the dataset a load without an index gives: patients, slice order and labels', async () => {
    const root = join(work, 'scale-layout');
    writeScaleDataset(root, 360, 8);
    const indexDir = join(work, 'scale-index');
    const load = (cacheDir: string | null) => loadDataset({ name: 'rsna-ich', root, cacheDir });
    const plain = await load(null);
    const cold = await load(indexDir);
    const warm = await load(indexDir);
    for (const other of [cold, warm]) {
      expect(other.patients).toEqual(plain.patients);
      expect(other.orderChecks).toEqual(plain.orderChecks);
    }
    expect(warm.listed).toBe(plain.listed);
    // Every slice carries the labels the writer gave its image, in the order of its position along the study.
    const slices = warm.patients.flatMap((patient) => patient.slices.map((slice, s) => ({ slice, targets: [...patient.sliceTargets![s]] })));
    expect(slices).toHaveLength(360);
    const written = new Map(Array.from({ length: 360 }, (_, i) => [imageId(i), sliceLabels(i)]));
    for (const { slice, targets } of slices) expect(targets).toEqual(written.get(slice.id!));
    for (const patient of warm.patients) {
      const z = patient.slices.map((slice) => readDicomMeta(slice.path).then((meta) => meta.imagePosition![2]));
      const positions = await Promise.all(z);
      expect(positions).toEqual([...positions].sort((a, b) => a - b));
    }
  });
});
