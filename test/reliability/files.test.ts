import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { log } from '../../src/core/log.ts';
import { writeDemoDataset } from '../../src/data/demo/dataset.ts';
import { loadDataset } from '../../src/data/datasets/registry.ts';
import { dataFingerprint } from '../../src/data/fingerprint.ts';
import { PatientLoader } from '../../src/data/loader.ts';
import { readDicom, readDicomMeta, readMeta, readSlices } from '../../src/data/readers/index.ts';
import { formatFileReport, inspectFile } from '../../src/data/readers/inspect.ts';
import { runCrossValidation } from '../../src/experiments/cross-validate.ts';
import { runPredictJob } from '../../src/experiments/predict-job.ts';
import { resolveExperiment, runExperiment } from '../../src/experiments/run.ts';
import { readEnvironment, readRunConfig, runPath } from '../../src/runs/index.ts';
import { defaultTestBackend } from '../helpers/backend.ts';
import { tinyDemoData, tinyExperiment } from '../train/helpers.ts';

/**
 * Reliability, files and data (issue 24): what sliceseq must never get wrong about the files it reads. Each case
 * here failed once; the comment names the issue item.
 */

/** Log lines are checked where a case is about one, and kept out of the test output otherwise. */
const info = vi.spyOn(log, 'info').mockImplementation(() => {});
const warn = vi.spyOn(log, 'warn').mockImplementation(() => {});
beforeEach(() => {
  info.mockClear();
  warn.mockClear();
});
afterAll(() => {
  info.mockRestore();
  warn.mockRestore();
});

/** The DICOM files of a demo folder's training images. */
const dicomFiles = (data: string) =>
  readdirSync(join(data, 'stage_2_train'))
    .filter((name) => name.endsWith('.dcm'))
    .sort()
    .map((name) => join(data, 'stage_2_train', name));

/** Inverts a demo DICOM's pixels in place (same size, same path): its pixel data is the last rows × cols × 2 bytes. */
function invertPixels(file: string, pixelBytes: number): void {
  const bytes = readFileSync(file);
  for (let i = bytes.length - pixelBytes; i < bytes.length; i++) bytes[i] ^= 0xff;
  writeFileSync(file, bytes);
}

/** Marks `count` images without any finding as epidural in the labels CSV, in place. */
function flipLabels(data: string, count: number): void {
  const file = join(data, 'stage_2_train.csv');
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  const labels = new Map<string, Map<string, string>>();
  for (const line of lines.slice(1)) {
    const [id, value] = line.split(',');
    const image = id.slice(0, id.lastIndexOf('_'));
    if (!labels.has(image)) labels.set(image, new Map());
    labels.get(image)!.set(id.slice(id.lastIndexOf('_') + 1), value);
  }
  const normal = [...labels].filter(([, values]) => [...values.values()].every((v) => v === '0')).slice(0, count);
  expect(normal.length).toBe(count);
  for (const [, values] of normal) for (const subtype of ['epidural', 'any']) values.set(subtype, '1');
  writeFileSync(file, ['ID,Label', ...[...labels].flatMap(([image, values]) => [...values].map(([subtype, v]) => `${image}_${subtype},${v}`))].join('\n') + '\n');
}

describe('the data fingerprint (issue 24 item 7)', () => {
  let root: string;
  let data: string;
  beforeAll(async () => {
    ({ root, data } = await tinyDemoData());
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const fingerprint = async (folder: string) => dataFingerprint([(await loadDataset({ name: 'rsna-ich', root: folder, cacheDir: null })).patients], { labels: true });

  it('is the same for the same bytes in another folder and after a touch, and changes with the pixels at the same path', async () => {
    const before = await fingerprint(data);
    expect(before).toMatch(/^v2:[0-9a-f]{16}$/);
    const copy = join(root, 'moved', 'data');
    cpSync(data, copy, { recursive: true });
    expect(await fingerprint(copy)).toBe(before);
    utimesSync(dicomFiles(copy)[0], 1_700_000_000, 1_700_000_000);
    expect(await fingerprint(copy)).toBe(before);
    invertPixels(dicomFiles(copy)[5], 32 * 32 * 2);
    expect(await fingerprint(copy)).not.toBe(before);
  });

  it('with a cache folder keeps each file\'s digest by size and mtime, and reads a file again once either changes', async () => {
    const copy = join(root, 'cached', 'data');
    cpSync(data, copy, { recursive: true });
    const cacheDir = join(root, 'digests');
    const plain = await fingerprint(copy);
    const patients = [(await loadDataset({ name: 'rsna-ich', root: copy, cacheDir: null })).patients];
    expect(await dataFingerprint(patients, { labels: true, cacheDir })).toBe(plain);
    const [recordFile] = readdirSync(cacheDir);
    const record = JSON.parse(readFileSync(join(cacheDir, recordFile), 'utf8'));
    const file = dicomFiles(copy)[2];
    const key = relative(join(copy, 'stage_2_train'), file); // paths within the dataset's deepest common folder
    const at = record.paths.indexOf(key);
    expect([record.sizes[at], record.mtimes[at], record.digests[at]]).toEqual([expect.any(Number), expect.any(Number), expect.stringMatching(/^[0-9a-f]{32}$/)]);
    // The record is what a second fingerprint uses: a doctored digest shows through…
    record.digests[at] = '0'.repeat(32);
    writeFileSync(join(cacheDir, recordFile), JSON.stringify(record));
    expect(await dataFingerprint(patients, { labels: true, cacheDir })).not.toBe(plain);
    // …until the file's mtime changes, when it is read again.
    utimesSync(file, 1_700_000_000, 1_700_000_000);
    expect(await dataFingerprint(patients, { labels: true, cacheDir })).toBe(plain);
    invertPixels(file, 32 * 32 * 2);
    expect(await dataFingerprint(patients, { labels: true, cacheDir })).not.toBe(plain);
  });

  it("trusts its record without a stat of each file only under the dataset's listing digest, which a touch, an added or a removed file changes", async () => {
    const copy = join(root, 'listed', 'data');
    cpSync(data, copy, { recursive: true });
    const cacheDir = join(root, 'listed-digests');
    const load = () => loadDataset({ name: 'rsna-ich', root: copy, cacheDir: join(root, 'listed-index') });
    const plain = await fingerprint(copy);
    const first = await load();
    expect(first.listed).toMatch(/^[0-9a-f]{40}$/);
    const withListing = (dataset: typeof first) => dataFingerprint([dataset.patients], { labels: true, cacheDir, listed: [dataset.listed] });
    expect(await withListing(first)).toBe(plain);
    // A doctored digest shows through while the listing is the record's (no file is stat'ed or read)…
    const [recordFile] = readdirSync(cacheDir);
    const record = JSON.parse(readFileSync(join(cacheDir, recordFile), 'utf8'));
    expect(record.listed).toBe(first.listed);
    record.digests[3] = '0'.repeat(32);
    writeFileSync(join(cacheDir, recordFile), JSON.stringify(record));
    expect(await withListing(await load())).not.toBe(plain);
    // …and not under another listing digest (then each file is stat'ed, and the doctored one is unchanged on disk, so it stays)…
    expect(await dataFingerprint([first.patients], { labels: true, cacheDir, listed: ['another listing'] })).not.toBe(plain);
    // …a touch changes the listing: the file is stat'ed, its mtime differs from the record's, it is read again.
    const files = dicomFiles(copy);
    const touched = files.find((f) => f.endsWith(`${basename(record.paths[3])}`))!;
    utimesSync(touched, 1_700_000_000, 1_700_000_000);
    const afterTouch = await load();
    expect(afterTouch.listed).not.toBe(first.listed);
    expect(await withListing(afterTouch)).toBe(plain);
    // The listing is of the files the dataset keeps: an added file without label rows is left out, and not in it…
    cpSync(files[0], join(dirname(files[0]), 'ID_extra.dcm'));
    const afterAdd = await loadDataset({ name: 'rsna-ich', root: copy, cacheDir: join(root, 'listed-index'), onBadFile: 'skip' });
    expect(afterAdd.listed).toBe(afterTouch.listed);
    expect(afterAdd.patients).toEqual(afterTouch.patients);
    // …a removed file changes it.
    rmSync(files[1]);
    const afterRemove = await loadDataset({ name: 'rsna-ich', root: copy, cacheDir: join(root, 'listed-index'), onBadFile: 'skip' });
    expect(afterRemove.listed).not.toBe(afterTouch.listed);
  });

  it('samples a file larger than it reads whole: inverted pixels of a 512 × 512 slice are seen, a touch is not', async () => {
    const big = join(root, 'big');
    await writeDemoDataset(big, { patients: 2, seed: 1, slices: 2, size: 512, testPatients: 0 });
    const before = await fingerprint(big);
    const file = dicomFiles(big)[1];
    utimesSync(file, 1_700_000_000, 1_700_000_000);
    expect(await fingerprint(big)).toBe(before);
    invertPixels(file, 512 * 512 * 2);
    expect(await fingerprint(big)).not.toBe(before);
  });
});

describe('resume and reuse check the data (issue 24 items 6, 7 and 8)', () => {
  let root: string;
  let data: string;
  beforeAll(async () => {
    ({ root, data } = await tinyDemoData());
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const experiment = () => tinyExperiment(data, { train: { epochs: 1, batchSize: 4 } });

  it('item 7: moved data resumes (the move recorded), the same paths with inverted pixels are refused, an old fingerprint says its format changed', async () => {
    const out = join(root, 'runs');
    const { runDir } = await runExperiment(experiment(), { out, report: false });
    const moved = join(root, 'elsewhere', 'data');
    cpSync(data, moved, { recursive: true });
    await runExperiment(experiment(), { out, resume: true, data: moved, report: false });
    const environment = readEnvironment(runDir);
    expect(environment.data.root).toBe(moved);
    expect(environment.changes?.at(-1)?.fields).toEqual({ 'data.dataset.root': { from: data, to: moved } });
    expect(readRunConfig(runDir).data).toMatchObject({ dataset: { root: moved } });

    for (const file of dicomFiles(moved).slice(0, 30)) invertPixels(file, 32 * 32 * 2);
    await expect(runExperiment(experiment(), { out, resume: true, data: moved, report: false })).rejects.toThrow(/cannot resume [\s\S]*changed:\n {2}data\.fingerprint: "v2:[0-9a-f]{16}" → "v2:[0-9a-f]{16}"/);

    const environmentFile = runPath(runDir, 'environment');
    writeFileSync(environmentFile, JSON.stringify({ ...environment, data: { ...environment.data, fingerprint: '0123456789abcdef' } }));
    await expect(runExperiment(experiment(), { out, resume: true, data: moved, report: false })).rejects.toThrow(
      /the data fingerprint format changed since it started .*'0123456789abcdef', a hash of file paths.*--allow-changes data\.fingerprint/,
    );
  });

  it('item 8: a relative data root is stored absolute in config.json, as given in environment.json, and predict logs the folder it read', async () => {
    const given = relative(process.cwd(), data);
    expect(given.startsWith('/')).toBe(false);
    const { runDir } = await runExperiment(tinyExperiment(given, { train: { epochs: 1, batchSize: 4 } }), { out: join(root, 'relative'), report: false });
    expect(readRunConfig(runDir).data).toMatchObject({ dataset: { root: data } });
    expect(readEnvironment(runDir).data).toMatchObject({ root: data, rootAsGiven: given });
    expect(resolveExperiment(experiment(), { data: given }).data.dataset.root).toBe(data);

    await runPredictJob({ runs: [runDir], out: join(root, 'predictions.csv') });
    expect(info).toHaveBeenCalledWith(expect.stringMatching(new RegExp(`^predict: data ${join(data, 'stage_2_train')} \\(root ${data}\\): 16 patients`)));
  });

  it('item 6: cross-validation refuses to reuse folds that ran before the labels changed, naming them', async () => {
    const cvData = join(root, 'cv-data');
    cpSync(data, cvData, { recursive: true });
    const options = { out: join(root, 'cv'), data: cvData, backend: defaultTestBackend, report: false };
    const input = tinyExperiment(cvData, { split: { test: 0.25, folds: 2, fold: 0 }, train: { epochs: 1, batchSize: 4 } });
    const first = await runCrossValidation(input, options);
    expect(first.summary).toBeDefined();
    flipLabels(cvData, 3);
    await expect(runCrossValidation(input, options)).rejects.toThrow(
      /the data changed since 2 finished trial\(s\) ran, so their results are not reused:\n {2}tiny-seed3-fold0 \(fold 0\): fingerprint v2:[0-9a-f]{16}, the data now v2:[0-9a-f]{16}\n {2}tiny-seed3-fold1 \(fold 1\)/,
    );
    rmSync(join(first.dir, 'tiny-seed3-fold1'), { recursive: true });
    await expect(runCrossValidation(input, options)).rejects.toThrow(/the data changed since 1 finished trial\(s\) ran[\s\S]*tiny-seed3-fold0 \(fold 0\)/);
  });
});

/** Fixtures and pydicom's values from scripts/make-reliability-dicom-fixtures.py. */
const fixtures = 'test/fixtures/dicom-reliability';
const expected = JSON.parse(readFileSync(join(fixtures, 'expected.json'), 'utf8')) as {
  files: Record<string, { channels: number; values: number[]; rgb?: number[] }>;
  frames: Record<string, Array<{ values: number[]; imagePosition?: number[]; rescaleSlope?: number; rescaleIntercept?: number }>>;
  errors: Record<string, string[]>;
};

/** The largest difference between two value lists of the same length. */
function maxDifference(actual: ArrayLike<number>, wanted: readonly number[]): number {
  expect(actual.length).toBe(wanted.length);
  let max = 0;
  for (let i = 0; i < wanted.length; i++) max = Math.max(max, Math.abs(actual[i] - wanted[i]));
  return max;
}

describe('DICOM files read as pydicom reads them (issue 24 items 14-16)', () => {
  const read = (name: string) => readDicom(join(fixtures, name));

  it('item 15: 32-bit samples whose pixel data starts at an offset not divisible by 4', async () => {
    const slice = await read('uint32_unaligned.dcm');
    // Slices hold float32, which rounds 32-bit values as Math.fround does.
    expect(maxDifference(slice.data, expected.files['uint32_unaligned.dcm'].values.map(Math.fround))).toBe(0);
  });

  it('item 14: JPEG Baseline that the header calls RGB, with no JFIF/Adobe marker, keeps its samples (no YCbCr conversion)', async () => {
    const slice = await read('jpeg_rgb_no_markers.dcm');
    const wanted = expected.files['jpeg_rgb_no_markers.dcm'];
    expect(slice.channels).toBe(3);
    expect(maxDifference(slice.data, wanted.values)).toBeLessThanOrEqual(1);
    // The image as encoded, up to JPEG's loss (a YCbCr reading is off by up to ~140 grey levels).
    expect(maxDifference(slice.data, wanted.rgb!)).toBeLessThanOrEqual(3);
  });

  it('item 16: uncompressed YBR_FULL_422 decodes (each pixel pair shares its chroma), as RGB', async () => {
    const slice = await read('ybr_full_422.dcm');
    expect(slice.channels).toBe(3);
    expect(maxDifference(slice.data, expected.files['ybr_full_422.dcm'].values)).toBeLessThanOrEqual(1);
  });

  it('item 16: a header that says explicit VR over a dataset written implicit is read (with a warning), not called truncated', async () => {
    const slice = await read('explicit_header_implicit_body.dcm');
    expect(maxDifference(slice.data, expected.files['explicit_header_implicit_body.dcm'].values)).toBe(0);
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/explicit_header_implicit_body\.dcm: the header says Explicit VR Little Endian but the dataset is written Implicit VR/));
  });

  it('item 16: a damaged sequence is named as such, in the header scan and the full read, without the parser\'s internals', async () => {
    for (const readFile of [readDicom, readDicomMeta]) {
      const error = await readFile(join(fixtures, 'damaged_sequence.dcm')).then(
        () => undefined,
        (thrown: Error) => thrown,
      );
      expect(error?.message).toMatch(/damaged_sequence\.dcm: damaged DICOM file: .* runs past its sequence or the end of the file \(a damaged sequence\)/);
      expect(error?.message).not.toMatch(/dicomParser|parameter|maxPosition/);
    }
  });
});

describe('CT without rescale tags, and slices without a position (issue 24 item 9)', () => {
  const file = join(fixtures, 'ct_no_rescale.dcm');
  const stored = expected.files['ct_no_rescale.dcm'].values;

  it('refuses a CT slice without RescaleSlope/RescaleIntercept in the header scan and the full read, naming both config fixes', async () => {
    const refusal = /ct_no_rescale\.dcm: CT slice without RescaleSlope and RescaleIntercept, so its values cannot be read as HU; set the dataset's rescale: \{ slope, intercept \} .* or onMissingRescale: 'assume-raw'/;
    await expect(readDicomMeta(file)).rejects.toThrow(refusal);
    await expect(readDicom(file)).rejects.toThrow(refusal);
    expect(info).not.toHaveBeenCalledWith(expect.stringMatching(/quirk repaired/));
  });

  it('reads it as configured: the given slope and intercept, or the stored values; never as the RSNA quirk', async () => {
    const rescaled = await readDicom(file, { missingRescale: { slope: 1, intercept: -1024 } });
    expect(maxDifference(rescaled.data, stored.map((v) => v - 1024))).toBe(0);
    expect(rescaled.meta).toMatchObject({ rescaleSlope: 1, rescaleIntercept: -1024 });
    expect(maxDifference((await readDicom(file, { missingRescale: 'assume-raw' })).data, stored)).toBe(0);
    expect(info).not.toHaveBeenCalledWith(expect.stringMatching(/quirk/));
  });

  it('a dataset refuses such files unless its config sets rescale or onMissingRescale, and the loader reads them so', async () => {
    const root = mkdtempSync(join(tmpdir(), 'rescale-'));
    mkdirSync(join(root, 'p1'));
    copyFileSync(file, join(root, 'p1', 'a.dcm'));
    await expect(loadDataset({ name: 'folders', root, cacheDir: null })).rejects.toThrow(/a\.dcm: unreadable: CT slice without RescaleSlope and RescaleIntercept/);
    for (const [options, values] of [
      [{ rescale: { slope: 1, intercept: -1024 } }, stored.map((v) => v - 1024)],
      [{ onMissingRescale: 'assume-raw' }, stored],
    ] as const) {
      const dataset = await loadDataset({ name: 'folders', root, cacheDir: null, ...options });
      const loader = new PatientLoader({ patients: dataset.patients }, { batchSize: 1, seed: 0, shuffle: false, workers: 0 });
      for await (const batch of loader.epoch(0)) {
        expect(maxDifference(batch.images.dataSync(), values)).toBe(0);
        batch.dispose();
      }
    }
    rmSync(root, { recursive: true, force: true });
  });

  it('warns once for a patient whose slices are reordered by InstanceNumber because one lacks ImagePositionPatient', async () => {
    const root = mkdtempSync(join(tmpdir(), 'order-'));
    mkdirSync(join(root, 'p1'));
    for (const name of ['series_1.dcm', 'series_2.dcm', 'series_3.dcm']) copyFileSync(join(fixtures, name), join(root, 'p1', name));
    const dataset = await loadDataset({ name: 'folders', root, cacheDir: null });
    expect(dataset.orderChecks.p1).toMatchObject({ rule: 'instance', withoutPosition: 1 });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith(`${root}: slices ordered without their position in 1 patient(s):\n  patient 'p1': 1 slice(s) without ImagePositionPatient, so all its slices are ordered by InstanceNumber`);
    rmSync(root, { recursive: true, force: true });
  });
});

describe('the header scan and inspect say what the full read will (issue 24 item 17)', () => {
  it('refuses in the header scan what the full read refuses: 1-bit samples', async () => {
    const file = join(fixtures, 'one_bit.dcm');
    for (const readFile of [readDicomMeta, readDicom]) await expect(readFile(file)).rejects.toThrow(/one_bit\.dcm: BitsAllocated 1 is not supported \(8, 16 or 32\)/);
  });

  it('refuses in the header scan a compressed stream that does not start as its transfer syntax says (JPEG 2000)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'j2k-'));
    const file = join(dir, 'corrupt_j2k.dcm');
    const bytes = readFileSync('test/fixtures/dicom-compressed/j2k_int16.dcm');
    const soc = bytes.indexOf(Buffer.from([0xff, 0x4f, 0xff, 0x51]));
    expect(soc).toBeGreaterThan(0);
    bytes.fill(0, soc, soc + 4);
    writeFileSync(file, bytes);
    await expect(readDicomMeta(file)).rejects.toThrow(/corrupt_j2k\.dcm: corrupt JPEG 2000 \(Lossless Only\) pixel data: the first fragment starts 00 00 00 00, not a JPEG 2000 codestream/);
    await expect(readDicom(file)).rejects.toThrow(/corrupt_j2k\.dcm: cannot decode JPEG 2000/);
    expect((await readDicomMeta('test/fixtures/dicom-compressed/j2k_int16.dcm')).transferSyntaxUid).toBe('1.2.840.10008.1.2.4.90');
    rmSync(dir, { recursive: true, force: true });
  });

  it('labels the value range "HU range" for CT only', async () => {
    const label = async (file: string) => formatFileReport(await inspectFile(file)).find((line) => /^ {2}(HU range|values) /.test(line))?.trim().split(/\s{2,}/)[0];
    expect(await label('test/fixtures/dicom/explicit_le_int16.dcm')).toBe('HU range');
    expect(await label('test/fixtures/dicom/mr_12bit.dcm')).toBe('values');
    expect(await label(join(fixtures, 'ybr_full_422.dcm'))).toBe('values');
    expect(formatFileReport(await inspectFile('test/fixtures/dicom/mr_12bit.dcm'))).toContain('  modality    MR');
  });
});

describe('multi-frame CT and MR are read frame by frame as slices of the series (issue 24 item 17)', () => {
  const enhanced = join(fixtures, 'enhanced_ct.dcm');
  const frames = expected.frames['enhanced_ct.dcm'];

  it('an Enhanced CT gives one slice per frame, with the position and rescale of its per-frame functional groups', async () => {
    const slices = await readSlices(enhanced);
    expect(slices).toHaveLength(3);
    slices.forEach((slice, k) => {
      expect(maxDifference(slice.data, frames[k].values)).toBe(0);
      expect(slice.meta).toMatchObject({ imagePosition: frames[k].imagePosition, imageOrientation: [1, 0, 0, 0, 1, 0], pixelSpacing: [0.5, 0.5], rescaleSlope: frames[k].rescaleSlope, rescaleIntercept: frames[k].rescaleIntercept });
    });
    expect(await readMeta(enhanced)).toEqual(slices.map((slice) => slice.meta));
    await expect(readDicom(enhanced)).rejects.toThrow(/enhanced_ct\.dcm: holds 3 frames; read them with readSlices \(one slice per frame\)/);
  });

  it('a classic multi-frame MR gives one slice per frame', async () => {
    const slices = await readSlices(join(fixtures, 'multiframe_mr.dcm'));
    expect(slices.map((slice) => maxDifference(slice.data, expected.frames['multiframe_mr.dcm'][slices.indexOf(slice)].values))).toEqual([0, 0]);
  });

  it('a dataset orders the frames along the body and the loader decodes them', async () => {
    const root = mkdtempSync(join(tmpdir(), 'frames-'));
    mkdirSync(join(root, 'p1'));
    copyFileSync(enhanced, join(root, 'p1', 'volume.dcm'));
    const dataset = await loadDataset({ name: 'folders', root, cacheDir: null });
    expect(dataset.patients[0].slices.map((s) => s.frame)).toEqual([1, 0, 2]);
    expect(dataset.orderChecks.p1.rule).toBe('position');
    const loader = new PatientLoader({ patients: dataset.patients }, { batchSize: 1, seed: 0, shuffle: false, workers: 0 });
    for await (const batch of loader.epoch(0)) {
      expect(maxDifference(batch.images.dataSync(), [1, 0, 2].flatMap((k) => frames[k].values))).toBe(0);
      batch.dispose();
    }
    rmSync(root, { recursive: true, force: true });
  });
});
