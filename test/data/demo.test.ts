import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setLogLevel } from '../../src/core/log.ts';
import { Rng } from '../../src/core/rng.ts';
import { DEMO_LABELS, writeDemoDataset, type DemoDatasetSummary, type DemoPatientRecord } from '../../src/data/demo/dataset.ts';
import { encodeDicomFile, formatDecimalString } from '../../src/data/demo/dicom-writer.ts';
import { generatePhantom, subtypes } from '../../src/data/demo/phantom.ts';
import { readDicom, readDicomMeta } from '../../src/data/readers/dicom.ts';
import type { Slice } from '../../src/data/types.ts';

let work: string;
let summary: DemoDatasetSummary;
let records: DemoPatientRecord[];
/** image ID → label values in DEMO_LABELS order */
let labels: Map<string, number[]>;
let slices: Map<string, Slice>;

const options = { patients: 10, seed: 11, size: 24, slices: [4, 7] as [number, number], testPatients: 2 };

function listing(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out[path.slice(dir.length)] = createHash('sha1').update(readFileSync(path)).digest('hex');
  }
  return out;
}

beforeAll(async () => {
  setLogLevel('silent');
  work = mkdtempSync(join(tmpdir(), 'sliceseq-phantom-'));
  summary = writeDemoDataset(join(work, 'a'), options);
  records = JSON.parse(readFileSync(join(work, 'a', 'demo-manifest.json'), 'utf8')).patients;
  const csv = readFileSync(join(work, 'a', 'stage_2_train.csv'), 'utf8').trim().split('\n');
  expect(csv[0]).toBe('ID,Label');
  labels = new Map();
  for (const row of csv.slice(1)) {
    const [id, value] = row.split(',');
    const match = /^(ID_[0-9a-f]{9})_([a-z]+)$/.exec(id);
    expect(match, `row ${row}`).not.toBeNull();
    const values = labels.get(match![1]) ?? new Array(DEMO_LABELS.length).fill(NaN);
    values[DEMO_LABELS.indexOf(match![2] as (typeof DEMO_LABELS)[number])] = Number(value);
    labels.set(match![1], values);
  }
  slices = new Map();
  for (const record of records) {
    for (const image of record.images) {
      slices.set(image, await readDicom(join(work, 'a', record.split === 'train' ? 'stage_2_train' : 'stage_2_test', `${image}.dcm`)));
    }
  }
});

afterAll(() => {
  setLogLevel('info');
  rmSync(work, { recursive: true, force: true });
});

describe('demo phantom dataset (RSNA layout)', () => {
  it('writes one CSV row per image and label, for exactly the training images', () => {
    const trainImages = records.filter((r) => r.split === 'train').flatMap((r) => r.images);
    expect([...labels.keys()].sort()).toEqual([...trainImages].sort());
    expect(readdirSync(join(work, 'a', 'stage_2_train')).sort()).toEqual(trainImages.map((id) => `${id}.dcm`).sort());
    for (const values of labels.values()) {
      expect(values.every((v) => v === 0 || v === 1)).toBe(true);
      expect(values[DEMO_LABELS.length - 1]).toBe(Math.max(...values.slice(0, -1)));
    }
    expect(summary.trainImages).toBe(trainImages.length);
  });

  it('keeps test patients unlabelled, listed only in the sample submission', () => {
    const testImages = records.filter((r) => r.split === 'test').flatMap((r) => r.images);
    expect(testImages.length).toBe(summary.testImages);
    expect(testImages.some((id) => labels.has(id))).toBe(false);
    const submission = readFileSync(join(work, 'a', 'stage_2_sample_submission.csv'), 'utf8').trim().split('\n');
    expect(submission.length - 1).toBe(testImages.length * DEMO_LABELS.length);
    expect(readdirSync(join(work, 'a', 'stage_2_test'))).toHaveLength(testImages.length);
  });

  it("writes the test patients' labels to solution.csv, the sample submission's rows with a Public/Private split by study", () => {
    const solution = readFileSync(join(work, 'a', 'solution.csv'), 'utf8').trim().split('\n');
    const submission = readFileSync(join(work, 'a', 'stage_2_sample_submission.csv'), 'utf8').trim().split('\n');
    expect(solution[0]).toBe('ID,Label,Usage');
    expect(solution.slice(1).map((row) => row.split(',')[0])).toEqual(submission.slice(1).map((row) => row.split(',')[0]));
    const usageOf = new Map<string, string>();
    const cells = new Map(solution.slice(1).map((row) => [row.split(',')[0], row.split(',')]));
    for (const record of records.filter((r) => r.split === 'test')) {
      const usage = new Set(record.images.flatMap((id) => DEMO_LABELS.map((label) => cells.get(`${id}_${label}`)![2])));
      expect(usage.size, record.studyInstanceUid).toBe(1);
      usageOf.set(record.studyInstanceUid, [...usage][0]);
      record.images.forEach((id, index) => {
        const values = DEMO_LABELS.map((label) => Number(cells.get(`${id}_${label}`)![1]));
        subtypes.forEach((subtype, s) => {
          const lesion = record.lesions.find((l) => l.subtype === subtype);
          const inside = lesion !== undefined && index >= lesion.firstSlice && index <= lesion.lastSlice;
          if (values[s] === 1) expect(inside, `${id} ${subtype}`).toBe(true);
        });
        expect(values[DEMO_LABELS.length - 1]).toBe(Math.max(...values.slice(0, -1)));
      });
    }
    expect([...usageOf.values()].sort()).toEqual(['Private', 'Public']);
  });

  it('writes real DICOM that decodes to plausible head-CT Hounsfield units in every encoding', () => {
    expect(new Set(records.map((r) => r.encoding))).toEqual(new Set(['int16', 'uint12', 'rsna-quirk']));
    for (const slice of slices.values()) {
      expect([slice.rows, slice.cols, slice.channels]).toEqual([24, 24, 1]);
      const min = Math.min(...slice.data);
      const max = Math.max(...slice.data);
      expect(min).toBeGreaterThanOrEqual(-1024);
      expect(min).toBeLessThan(-900); // air
      expect(max).toBeGreaterThan(700); // skull
      expect(max).toBeLessThan(1400);
      expect(slice.meta.windowCenter?.[0]).toBe(40);
      expect(slice.meta.windowWidth?.[0]).toBe(80);
    }
  });

  it('gives each patient one study, ImagePositionPatient stepping along z, and file names in no z order', () => {
    let namesFollowPosition = 0;
    for (const record of records) {
      const metas = record.images.map((id) => slices.get(id)!.meta);
      expect(new Set(metas.map((m) => m.studyInstanceUid))).toEqual(new Set([record.studyInstanceUid]));
      expect(new Set(metas.map((m) => m.sopInstanceUid)).size).toBe(record.images.length);
      const z = metas.map((m) => m.imagePosition![2]);
      z.slice(1).forEach((value, i) => expect(value - z[i]).toBeCloseTo(5, 6));
      metas.forEach((m) => expect(m.imageOrientation).toEqual([1, 0, 0, 0, 1, 0]));
      const byName = [...record.images].sort();
      if (byName.every((id, i) => id === record.images[i])) namesFollowPosition++;
    }
    expect(namesFollowPosition).toBeLessThan(records.length / 2);
  });

  it('labels a slice positive for a subtype only inside that lesion’s slice span', () => {
    let positives = 0;
    for (const record of records.filter((r) => r.split === 'train')) {
      record.images.forEach((id, index) => {
        subtypes.forEach((subtype, s) => {
          if (labels.get(id)![s] !== 1) return;
          positives++;
          const lesion = record.lesions.find((l) => l.subtype === subtype);
          expect(lesion, `${id} ${subtype}`).toBeDefined();
          expect(index).toBeGreaterThanOrEqual(lesion!.firstSlice);
          expect(index).toBeLessThanOrEqual(lesion!.lastSlice);
        });
      });
    }
    expect(positives).toBeGreaterThan(0);
    expect(summary.positiveSlices.any).toBeGreaterThan(0);
  });

  it('is byte-identical for the same seed and different for another', () => {
    writeDemoDataset(join(work, 'b'), options);
    writeDemoDataset(join(work, 'c'), { ...options, seed: 12 });
    const a = listing(join(work, 'a'));
    expect(listing(join(work, 'b'))).toEqual(a);
    expect(listing(join(work, 'c'))).not.toEqual(a);
  });

  it('validates its options, naming the field', () => {
    expect(() => writeDemoDataset(join(work, 'd'), { patients: 0, seed: 1 })).toThrow(/patients/);
    expect(() => writeDemoDataset(join(work, 'd'), { patients: 1, seed: 1, slices: [5, 2] })).toThrow(/slices: min must not exceed max/);
  });
});

describe('phantom generator', () => {
  it('has about 40% normal patients and every subtype, each lesion on contiguous slices', () => {
    const count = 150;
    let normal = 0;
    const seen = new Set<string>();
    for (let p = 0; p < count; p++) {
      const volume = generatePhantom(Rng.derive(3, 'phantom-test', p), { size: 16, slices: [6, 10], normalFraction: 0.4 });
      if (volume.labels.every((row) => row.every((v) => v === 0))) normal++;
      subtypes.forEach((subtype, s) => {
        const positive = volume.labels.map((row, i) => (row[s] ? i : -1)).filter((i) => i >= 0);
        if (positive.length === 0) return;
        seen.add(subtype);
        expect(positive[positive.length - 1] - positive[0] + 1).toBe(positive.length);
      });
    }
    expect(normal / count).toBeGreaterThan(0.3);
    expect(normal / count).toBeLessThan(0.6);
    expect(seen).toEqual(new Set(subtypes));
  });

  it('draws hemorrhage brighter than brain where it is labelled', () => {
    // Blood (≈ 62–82 HU) against brain (≈ 30–45 HU): the brightest intracranial pixels of positive slices are
    // clearly above those of negative slices of the same patients.
    let positiveTop = 0;
    let negativeTop = 0;
    let positives = 0;
    let negatives = 0;
    for (let p = 0; p < 40; p++) {
      const volume = generatePhantom(Rng.derive(5, 'bright', p), { size: 32, slices: [8, 8], normalFraction: 0 });
      volume.slices.forEach((image, i) => {
        const brainRange = Array.from(image).filter((v) => v > 20 && v < 200).sort((a, b) => b - a);
        const top = brainRange.slice(0, 6).reduce((sum, v) => sum + v, 0) / 6;
        if (volume.labels[i].some((v) => v === 1)) {
          positiveTop += top;
          positives++;
        } else {
          negativeTop += top;
          negatives++;
        }
      });
    }
    expect(positives).toBeGreaterThan(20);
    expect(positiveTop / positives - negativeTop / negatives).toBeGreaterThan(10);
  });
});

describe('DICOM writer', () => {
  it('formats DS values within 16 characters', () => {
    expect(formatDecimalString(-99.30230397123)).toBe('-99.30230397');
    expect(formatDecimalString(5)).toBe('5');
    expect(formatDecimalString(1e-12)).toBe('1e-12');
    expect(() => formatDecimalString(Number.NaN)).toThrow('finite');
  });

  it('round-trips through our reader, including odd-length strings and multi-valued tags', async () => {
    const pixels = new Uint8Array(new Int16Array([-5, 0, 7, 1200]).buffer);
    const bytes = encodeDicomFile('1.2.840.10008.5.1.4.1.1.2', '2.25.7', [
      { tag: 0x00080018, vr: 'UI', value: '2.25.7' },
      { tag: 0x0020000d, vr: 'UI', value: '2.25.123' },
      { tag: 0x00200032, vr: 'DS', value: [1.5, -2, 3.25] },
      { tag: 0x00280010, vr: 'US', value: 2 },
      { tag: 0x00280011, vr: 'US', value: 2 },
      { tag: 0x00280100, vr: 'US', value: 16 },
      { tag: 0x00280101, vr: 'US', value: 16 },
      { tag: 0x00280103, vr: 'US', value: 1 },
      { tag: 0x00281050, vr: 'DS', value: [40, 80] },
      { tag: 0x00281051, vr: 'DS', value: [80, 200] },
      { tag: 0x00281052, vr: 'DS', value: -1024 },
      { tag: 0x7fe00010, vr: 'OW', value: pixels },
    ]);
    const path = join(work, 'writer.dcm');
    writeFileSync(path, bytes);
    const slice = await readDicom(path);
    expect(Array.from(slice.data)).toEqual([-1029, -1024, -1017, 176]);
    expect(await readDicomMeta(path)).toMatchObject({
      studyInstanceUid: '2.25.123',
      sopInstanceUid: '2.25.7',
      imagePosition: [1.5, -2, 3.25],
      windowCenter: [40, 80],
      windowWidth: [80, 200],
      transferSyntaxUid: '1.2.840.10008.1.2.1',
    });
    expect(() => encodeDicomFile('1.2', '2.25.1', [{ tag: 0x00100020, vr: 'LO', value: 'a' }, { tag: 0x00100020, vr: 'LO', value: 'b' }])).toThrow('duplicate tag');
  });
});
