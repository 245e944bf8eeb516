/**
 * A fast writer of an RSNA Intracranial Hemorrhage layout at any size, for bench/scale.ts: everything but pixel
 * work is what it measures, so each slice is a small real DICOM (Explicit VR Little Endian, int16, the header
 * fields the competition's files carry) and the pixels of a study are one pattern shifted per slice.
 *
 *   stage_2_train/ID_<image>.dcm      `trainFiles` files in studies of ~35 slices (30–40)
 *   stage_2_test/ID_<image>.dcm       the competition's test share (121,232 / 752,803 of the train count)
 *   stage_2_train.csv                 ID,Label: six rows per training image, grouped by image
 *   stage_2_sample_submission.csv     ID,Label 0.5 for the test images
 *   solution.csv                      ID,Label,Usage for the test images (half the studies Public)
 *
 * Image ids are a bijection of the running index (9 hex digits), so they look random, never collide and the
 * same size always gives the same files.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { encodeDicomFile, type DicomElementValue } from '../src/data/demo/dicom-writer.ts';

/** The competition's counts: training DICOMs, test DICOMs (its sample submission has six rows each). */
export const COMPETITION = { trainFiles: 752_803, testFiles: 121_232, labelRows: 4_516_842, submissionRows: 727_392 };
export const LABELS = ['epidural', 'intraparenchymal', 'intraventricular', 'subarachnoid', 'subdural', 'any'] as const;
const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';

/** 9 hex digits, distinct for every index below 2^36 (multiplication by an odd number is a bijection mod 2^36). */
export function imageId(index: number): string {
  const mixed = (BigInt(index) * 0x9e3779b1n + 0x5bd1e995n) & 0xfffffffffn;
  return `ID_${mixed.toString(16).padStart(9, '0')}`;
}

function studyUid(study: number, split: string): string {
  return `ID_${split === 'train' ? 'a' : 'b'}${(((study + 1) * 2654435761) >>> 0).toString(16).padStart(8, '0')}${study.toString(16)}`;
}

/** Slices in study `s`: 30–40, from a fixed pattern, so sizes are reproducible. */
function studySize(study: number): number {
  return 30 + ((study * 7919) % 11);
}

export interface ScaleDataset {
  root: string;
  trainFiles: number;
  testFiles: number;
  trainStudies: number;
  testStudies: number;
  seconds: number;
}

/** Pixel pattern of one slice: a disc of brain with a skull ring, shifted by the slice index; int16 HU + 1024. */
function pixels(size: number, slice: number): Uint8Array {
  const bytes = new Uint8Array(size * size * 2);
  const view = new DataView(bytes.buffer);
  const c = size / 2;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const r = Math.hypot(x - c, y - c) / (0.45 * size);
      const hu = r > 1 ? -1000 : r > 0.9 ? 1000 : 30 + ((x + y + slice) % 13);
      view.setInt16((y * size + x) * 2, hu + 1024, true);
    }
  }
  return bytes;
}

function sliceFile(study: string, series: string, sop: string, index: number, size: number, pixelBytes: Uint8Array): Uint8Array {
  const elements: DicomElementValue[] = [
    { tag: 0x00080016, vr: 'UI', value: CT_IMAGE_STORAGE },
    { tag: 0x00080018, vr: 'UI', value: sop },
    { tag: 0x00080060, vr: 'CS', value: 'CT' },
    { tag: 0x00100020, vr: 'LO', value: `ID_${study.slice(4, 12)}` },
    { tag: 0x0020000d, vr: 'UI', value: study },
    { tag: 0x0020000e, vr: 'UI', value: series },
    { tag: 0x00200013, vr: 'IS', value: index + 1 },
    { tag: 0x00200032, vr: 'DS', value: [-125, -125, 5 * index - 60] },
    { tag: 0x00200037, vr: 'DS', value: [1, 0, 0, 0, 1, 0] },
    { tag: 0x00280002, vr: 'US', value: 1 },
    { tag: 0x00280004, vr: 'CS', value: 'MONOCHROME2' },
    { tag: 0x00280010, vr: 'US', value: size },
    { tag: 0x00280011, vr: 'US', value: size },
    { tag: 0x00280030, vr: 'DS', value: [0.488281, 0.488281] },
    { tag: 0x00280100, vr: 'US', value: 16 },
    { tag: 0x00280101, vr: 'US', value: 16 },
    { tag: 0x00280102, vr: 'US', value: 15 },
    { tag: 0x00280103, vr: 'US', value: 1 },
    { tag: 0x00281050, vr: 'DS', value: 40 },
    { tag: 0x00281051, vr: 'DS', value: 80 },
    { tag: 0x00281052, vr: 'DS', value: -1024 },
    { tag: 0x00281053, vr: 'DS', value: 1 },
    { tag: 0x7fe00010, vr: 'OW', value: pixelBytes },
  ];
  return encodeDicomFile(CT_IMAGE_STORAGE, sop, elements);
}

/** A slice's six labels (five subtypes, then `any`), from its index: about 14% of slices positive, as in the competition. */
export function sliceLabels(index: number): number[] {
  const draw = ((index * 2246822519) >>> 0) % 100;
  const subtypes = [0, 1, 2, 3, 4].map((k) => (draw < 14 && (draw + k) % 3 === 0 ? 1 : 0));
  if (draw < 14 && subtypes.every((v) => v === 0)) subtypes[draw % 5] = 1;
  return [...subtypes, subtypes.some((v) => v === 1) ? 1 : 0];
}

/**
 * Writes `trainFiles` training slices (and the matching test share) of `size` × `size` into `root`.
 * `onProgress` is called with the files written so far.
 */
export function writeScaleDataset(root: string, trainFiles: number, size = 32, onProgress?: (written: number) => void): ScaleDataset {
  const start = performance.now();
  const testFiles = Math.max(35, Math.round((trainFiles * COMPETITION.testFiles) / COMPETITION.trainFiles));
  const patterns = Array.from({ length: 41 }, (_, i) => pixels(size, i));
  let index = 0;
  const studies = { train: 0, test: 0 };
  const csv = { train: ['ID,Label'], sample: ['ID,Label'], solution: ['ID,Label,Usage'] };
  for (const [split, total] of [['train', trainFiles], ['test', testFiles]] as const) {
    const dir = join(root, `stage_2_${split}`);
    mkdirSync(dir, { recursive: true });
    let written = 0;
    for (let study = 0; written < total; study++) {
      const count = Math.min(studySize(study), total - written);
      const studyId = studyUid(study, split);
      const series = `${studyId}_s`;
      for (let s = 0; s < count; s++, index++, written++) {
        const image = imageId(index);
        writeFileSync(join(dir, `${image}.dcm`), sliceFile(studyId, series, image, s, size, patterns[s % patterns.length]));
        const labels = sliceLabels(index);
        if (split === 'train') LABELS.forEach((label, l) => csv.train.push(`${image}_${label},${labels[l]}`));
        else {
          const usage = study % 2 === 0 ? 'Public' : 'Private';
          LABELS.forEach((label, l) => {
            csv.sample.push(`${image}_${label},0.5`);
            csv.solution.push(`${image}_${label},${labels[l]},${usage}`);
          });
        }
        if (onProgress && index % 5000 === 0) onProgress(index);
      }
      studies[split]++;
    }
  }
  writeFileSync(join(root, 'stage_2_train.csv'), `${csv.train.join('\n')}\n`);
  writeFileSync(join(root, 'stage_2_sample_submission.csv'), `${csv.sample.join('\n')}\n`);
  writeFileSync(join(root, 'solution.csv'), `${csv.solution.join('\n')}\n`);
  return { root, trainFiles, testFiles, trainStudies: studies.train, testStudies: studies.test, seconds: (performance.now() - start) / 1000 };
}

/**
 * The sample submission and solution of `testFiles` test images without any DICOM (writing and scoring a
 * submission needs only the CSVs): `COMPETITION.testFiles` gives the full 727,392 rows.
 */
export function writeSubmissionCsvs(root: string, testFiles: number): { sample: string; solution: string; ids: string[] } {
  mkdirSync(root, { recursive: true });
  const sample = ['ID,Label'];
  const solution = ['ID,Label,Usage'];
  const ids: string[] = [];
  for (let i = 0; i < testFiles; i++) {
    const image = imageId(COMPETITION.trainFiles + i);
    ids.push(image);
    const labels = sliceLabels(i);
    const usage = Math.floor(i / 35) % 2 === 0 ? 'Public' : 'Private';
    LABELS.forEach((label, l) => {
      sample.push(`${image}_${label},0.5`);
      solution.push(`${image}_${label},${labels[l]},${usage}`);
    });
  }
  const files = { sample: join(root, 'sample_submission.csv'), solution: join(root, 'solution.csv') };
  writeFileSync(files.sample, `${sample.join('\n')}\n`);
  writeFileSync(files.solution, `${solution.join('\n')}\n`);
  return { ...files, ids };
}

/** A labels CSV of `images` training images (six rows each) without any DICOM: the full size has 4,516,818 rows. */
export function writeLabelsCsv(file: string, images: number): void {
  const rows = ['ID,Label'];
  for (let i = 0; i < images; i++) {
    const image = imageId(i);
    const labels = sliceLabels(i);
    LABELS.forEach((label, l) => rows.push(`${image}_${label},${labels[l]}`));
  }
  writeFileSync(file, `${rows.join('\n')}\n`);
}

// `npx tsx bench/scale-data.ts <root> <trainFiles> [imageSide]`: writes one such folder (the full size, 752,803
// training files, takes ~2 min and 3.4 GB on a quiet machine at 32 × 32).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [root, files, side] = process.argv.slice(2);
  if (!root || !Number.isInteger(Number(files))) throw new Error('usage: npx tsx bench/scale-data.ts <root> <trainFiles> [imageSide]');
  const written = writeScaleDataset(root, Number(files), side ? Number(side) : 32, (n) => process.stderr.write(`${n} files written\n`));
  process.stdout.write(`${JSON.stringify(written)}\n`);
}
