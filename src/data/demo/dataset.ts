import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic, writeJsonAtomic } from '../../core/atomic.ts';
import { Rng } from '../../core/rng.ts';
import { parseOrThrow } from '../../core/validate.ts';
import { encodeDicomFile, type DicomElementValue } from './dicom-writer.ts';
import { generatePhantom, subtypes, type LesionSpec, type PhantomVolume } from './phantom.ts';

/**
 * Writes a seeded synthetic head-CT dataset in the Kaggle RSNA Intracranial Hemorrhage layout:
 *   stage_2_train.csv               ID,Label with rows ID_<image>_<subtype> (five subtypes, then `any`)
 *   stage_2_train/ID_<image>.dcm    real DICOM files, one per slice
 *   stage_2_test/ID_<image>.dcm     a few unlabelled patients
 *   stage_2_sample_submission.csv   the test rows with Label 0.5
 *   solution.csv                    the test rows' true labels, ID,Label,Usage: half the test studies (seeded) Public, half Private
 *   demo-manifest.json              the generator's options and each patient's lesions (ground truth)
 * Image IDs are random, so slice order must come from ImagePositionPatient, as in the real data.
 */
export const demoDatasetOptionsSchema = z
  .object({
    /** Labelled (training) patients. */
    patients: z.number().int().min(1).max(100_000),
    seed: z.number().int().min(0),
    /** Slices per patient: a fixed number or [min, max]. */
    slices: z
      .union([z.number().int().min(1).max(512), z.tuple([z.number().int().min(1), z.number().int().max(512)])])
      .default([8, 24]),
    /** Pixels per side. */
    size: z.number().int().min(16).max(1024).default(64),
    /** Unlabelled patients in stage_2_test (default: a tenth of `patients`, at least 2). */
    testPatients: z.number().int().min(0).optional(),
    /** Share of patients without any hemorrhage. */
    normalFraction: z.number().min(0).max(1).default(0.4),
  })
  .strict()
  .refine((o) => typeof o.slices === 'number' || o.slices[0] <= o.slices[1], {
    message: 'min must not exceed max',
    path: ['slices'],
  });
export type DemoDatasetOptions = z.input<typeof demoDatasetOptionsSchema>;

export interface ResolvedDemoOptions {
  patients: number;
  seed: number;
  slices: [number, number];
  size: number;
  testPatients: number;
  normalFraction: number;
}

/** Validates (errors name the field) and fills in defaults. */
export function resolveDemoOptions(options: DemoDatasetOptions): ResolvedDemoOptions {
  const parsed = parseOrThrow(demoDatasetOptionsSchema, options, 'demo dataset options');
  return {
    ...parsed,
    slices: typeof parsed.slices === 'number' ? [parsed.slices, parsed.slices] : parsed.slices,
    testPatients: parsed.testPatients ?? Math.max(2, Math.ceil(parsed.patients / 10)),
  };
}

export const DEMO_LABELS = [...subtypes, 'any'] as const;
export const DEMO_TRAIN_CSV = 'stage_2_train.csv';
export const DEMO_SUBMISSION_CSV = 'stage_2_sample_submission.csv';
export const DEMO_SOLUTION_CSV = 'solution.csv';
export const DEMO_TRAIN_DIR = 'stage_2_train';
export const DEMO_TEST_DIR = 'stage_2_test';
export const DEMO_MANIFEST = 'demo-manifest.json';
/** Every entry writeDemoDataset creates in its folder. */
export const DEMO_ENTRIES = [DEMO_TRAIN_CSV, DEMO_SUBMISSION_CSV, DEMO_SOLUTION_CSV, DEMO_TRAIN_DIR, DEMO_TEST_DIR, DEMO_MANIFEST] as const;

/** How pixel values are stored: the common signed form, 12-bit unsigned, and the RSNA broken-intercept form. */
export type DemoEncoding = 'int16' | 'uint12' | 'rsna-quirk';

export interface DemoPatientRecord {
  patientId: string;
  studyInstanceUid: string;
  split: 'train' | 'test';
  encoding: DemoEncoding;
  slices: number;
  lesions: LesionSpec[];
  /** Image IDs bottom to top. */
  images: string[];
}

export interface DemoDatasetSummary {
  dir: string;
  trainPatients: number;
  testPatients: number;
  abnormalPatients: number;
  trainImages: number;
  testImages: number;
  /** Positive training slices per label. */
  positiveSlices: Record<(typeof DEMO_LABELS)[number], number>;
}

const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';
const SLICE_THICKNESS_MM = 5;
/** Head width in mm the phantom's pixel spacing is scaled to. */
const FIELD_OF_VIEW_MM = 200;

/** A UID under the UUID-derived root 2.25: 128 random bits as a decimal. */
function randomUid(rng: Rng): string {
  let value = 0n;
  for (let i = 0; i < 4; i++) value = (value << 32n) | BigInt(rng.uint32());
  return `2.25.${value}`;
}

function randomHex(rng: Rng, digits: number): string {
  let text = '';
  while (text.length < digits) text += rng.uint32().toString(16).padStart(8, '0');
  return text.slice(0, digits);
}

function drawEncoding(rng: Rng): DemoEncoding {
  const pick = rng.float();
  return pick < 0.6 ? 'int16' : pick < 0.9 ? 'uint12' : 'rsna-quirk';
}

/** Stored pixel bytes and the tags that say how to read them back into HU. */
function encodePixels(hu: Float32Array, encoding: DemoEncoding): { bytes: Uint8Array; bitsStored: number; signed: boolean; intercept: number } {
  const bytes = new Uint8Array(hu.length * 2);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < hu.length; i++) {
    const value = Math.round(Math.min(3071, Math.max(-1024, hu[i])));
    if (encoding === 'int16') view.setInt16(i * 2, value + 1024, true);
    else if (encoding === 'uint12') view.setUint16(i * 2, value + 1024, true);
    // The RSNA quirk: HU modulo 4096 in 12 unsigned bits (so HU below −1000 cannot be stored), with an
    // intercept of 1 that readers must distrust.
    else view.setUint16(i * 2, (Math.max(value, -1000) + 4096) % 4096, true);
  }
  return encoding === 'int16'
    ? { bytes, bitsStored: 16, signed: true, intercept: -1024 }
    : encoding === 'uint12'
      ? { bytes, bitsStored: 12, signed: false, intercept: -1024 }
      : { bytes, bitsStored: 12, signed: false, intercept: 1 };
}

interface PatientIdentity {
  patientId: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  encoding: DemoEncoding;
  spacing: number;
  zStart: number;
  descendingInstanceNumbers: boolean;
  /** Some files carry two windows, as many RSNA files do. */
  windows: { center: number[]; width: number[] };
}

function drawIdentity(rng: Rng, size: number): PatientIdentity {
  const doubleWindow = rng.bernoulli(0.3);
  return {
    patientId: `ID_${randomHex(rng, 8)}`,
    studyInstanceUid: randomUid(rng),
    seriesInstanceUid: randomUid(rng),
    encoding: drawEncoding(rng),
    spacing: (FIELD_OF_VIEW_MM / size) * rng.uniform(0.95, 1.05),
    zStart: Math.round(rng.uniform(-60, 40) * 10) / 10,
    descendingInstanceNumbers: rng.bernoulli(0.2),
    windows: doubleWindow ? { center: [40, 40], width: [80, 80] } : { center: [40], width: [80] },
  };
}

function sliceElements(identity: PatientIdentity, volume: PhantomVolume, index: number, sopInstanceUid: string): DicomElementValue[] {
  const { size } = volume;
  const { bytes, bitsStored, signed, intercept } = encodePixels(volume.slices[index], identity.encoding);
  const count = volume.slices.length;
  const origin = -(identity.spacing * size) / 2;
  return [
    { tag: 0x00080008, vr: 'CS', value: ['ORIGINAL', 'PRIMARY', 'AXIAL'] },
    { tag: 0x00080016, vr: 'UI', value: CT_IMAGE_STORAGE },
    { tag: 0x00080018, vr: 'UI', value: sopInstanceUid },
    { tag: 0x00080060, vr: 'CS', value: 'CT' },
    { tag: 0x00100020, vr: 'LO', value: identity.patientId },
    { tag: 0x00180050, vr: 'DS', value: SLICE_THICKNESS_MM },
    { tag: 0x0020000d, vr: 'UI', value: identity.studyInstanceUid },
    { tag: 0x0020000e, vr: 'UI', value: identity.seriesInstanceUid },
    { tag: 0x00200013, vr: 'IS', value: identity.descendingInstanceNumbers ? count - index : index + 1 },
    { tag: 0x00200032, vr: 'DS', value: [origin, origin, identity.zStart + index * SLICE_THICKNESS_MM] },
    { tag: 0x00200037, vr: 'DS', value: [1, 0, 0, 0, 1, 0] },
    { tag: 0x00280002, vr: 'US', value: 1 },
    { tag: 0x00280004, vr: 'CS', value: 'MONOCHROME2' },
    { tag: 0x00280010, vr: 'US', value: size },
    { tag: 0x00280011, vr: 'US', value: size },
    { tag: 0x00280030, vr: 'DS', value: [identity.spacing, identity.spacing] },
    { tag: 0x00280100, vr: 'US', value: 16 },
    { tag: 0x00280101, vr: 'US', value: bitsStored },
    { tag: 0x00280102, vr: 'US', value: bitsStored - 1 },
    { tag: 0x00280103, vr: 'US', value: signed ? 1 : 0 },
    { tag: 0x00281050, vr: 'DS', value: identity.windows.center },
    { tag: 0x00281051, vr: 'DS', value: identity.windows.width },
    { tag: 0x00281052, vr: 'DS', value: intercept },
    { tag: 0x00281053, vr: 'DS', value: 1 },
    { tag: 0x7fe00010, vr: 'OW', value: bytes },
  ];
}

/** One slice's label row in DEMO_LABELS order: the five subtypes, then `any`. */
function sliceLabelValues(labels: Uint8Array): number[] {
  return [...labels, labels.some((v) => v === 1) ? 1 : 0];
}

/** Generates and writes one patient; returns its record and, per slice bottom to top, the labels. */
function writePatient(
  dir: string,
  split: 'train' | 'test',
  rng: Rng,
  options: { size: number; slices: [number, number]; normalFraction: number },
  takenIds: Set<string>,
): { record: DemoPatientRecord; labels: Uint8Array[] } {
  const volume = generatePhantom(rng, options);
  const identity = drawIdentity(rng, options.size);
  const images: string[] = [];
  volume.slices.forEach((_, index) => {
    let imageId: string;
    do imageId = `ID_${randomHex(rng, 9)}`;
    while (takenIds.has(imageId));
    takenIds.add(imageId);
    images.push(imageId);
    const sopInstanceUid = randomUid(rng);
    const file = encodeDicomFile(CT_IMAGE_STORAGE, sopInstanceUid, sliceElements(identity, volume, index, sopInstanceUid));
    writeFileAtomic(join(dir, split === 'train' ? DEMO_TRAIN_DIR : DEMO_TEST_DIR, `${imageId}.dcm`), file);
  });
  const record: DemoPatientRecord = {
    patientId: identity.patientId,
    studyInstanceUid: identity.studyInstanceUid,
    split,
    encoding: identity.encoding,
    slices: volume.slices.length,
    lesions: volume.lesions,
    images,
  };
  return { record, labels: volume.labels };
}

/**
 * Writes the dataset into `dir` (each file atomically). Deterministic in `seed`: each patient draws from its
 * own stream, so the same seed and options give byte-identical files.
 */
export function writeDemoDataset(dir: string, options: DemoDatasetOptions, onPatient?: () => void): DemoDatasetSummary {
  const resolved = resolveDemoOptions(options);
  const testCount = resolved.testPatients;
  const phantomOptions = { size: resolved.size, slices: resolved.slices, normalFraction: resolved.normalFraction };
  const takenIds = new Set<string>();
  const records: DemoPatientRecord[] = [];
  const trainRows: string[][] = [];
  let abnormalPatients = 0;
  const positiveSlices = Object.fromEntries(DEMO_LABELS.map((label) => [label, 0])) as DemoDatasetSummary['positiveSlices'];

  for (let p = 0; p < resolved.patients; p++) {
    const { record, labels } = writePatient(dir, 'train', Rng.derive(resolved.seed, 'demo', 'train', p), phantomOptions, takenIds);
    records.push(record);
    if (labels.some((row) => row.some((v) => v === 1))) abnormalPatients++;
    record.images.forEach((imageId, index) => {
      const values = sliceLabelValues(labels[index]);
      values.forEach((value, l) => (positiveSlices[DEMO_LABELS[l]] += value));
      trainRows.push(DEMO_LABELS.map((label, l) => `${imageId}_${label},${values[l]}`));
    });
    onPatient?.();
  }
  const testRows: string[] = [];
  const solutionRows: string[] = [];
  // Public or Private by study, as Kaggle split its test set: a seeded half of the test patients each.
  const publicPatients = new Set(Rng.derive(resolved.seed, 'demo', 'usage').shuffle(Array.from({ length: testCount }, (_, p) => p)).slice(0, Math.ceil(testCount / 2)));
  for (let p = 0; p < testCount; p++) {
    const { record, labels } = writePatient(dir, 'test', Rng.derive(resolved.seed, 'demo', 'test', p), phantomOptions, takenIds);
    records.push(record);
    const usage = publicPatients.has(p) ? 'Public' : 'Private';
    record.images.forEach((imageId, index) => {
      const values = sliceLabelValues(labels[index]);
      testRows.push(...DEMO_LABELS.map((label) => `${imageId}_${label},0.5`));
      solutionRows.push(...DEMO_LABELS.map((label, l) => `${imageId}_${label},${values[l]},${usage}`));
    });
    onPatient?.();
  }

  // The Kaggle CSV lists images in no particular order; shuffle so nothing can lean on file or row order.
  Rng.derive(resolved.seed, 'demo', 'csv-order').shuffle(trainRows);
  writeFileAtomic(join(dir, DEMO_TRAIN_CSV), `ID,Label\n${trainRows.flat().join('\n')}\n`);
  writeFileAtomic(join(dir, DEMO_SUBMISSION_CSV), `ID,Label\n${testRows.join('\n')}\n`);
  if (testCount > 0) writeFileAtomic(join(dir, DEMO_SOLUTION_CSV), `ID,Label,Usage\n${solutionRows.join('\n')}\n`);
  writeJsonAtomic(join(dir, DEMO_MANIFEST), {
    generator: 'sliceseq demo-data (synthetic head-CT phantom)',
    options: resolved,
    labels: DEMO_LABELS,
    patients: records,
  });

  const train = records.filter((r) => r.split === 'train');
  return {
    dir,
    trainPatients: train.length,
    testPatients: testCount,
    abnormalPatients,
    trainImages: train.reduce((sum, r) => sum + r.slices, 0),
    testImages: records.reduce((sum, r) => sum + (r.split === 'test' ? r.slices : 0), 0),
    positiveSlices,
  };
}
