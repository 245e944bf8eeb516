import { basename, join, resolve } from 'node:path';
import { z } from 'zod';
import { readDicomMetas } from '../readers/dicom.ts';
import { binarySchema } from '../../labels/schema.ts';
import { groupBy, groupKey, type Patient } from '../patients.ts';
import { at, forEachCsvRecord, readTextFile } from './csv.ts';
import { aggregateSliceTargets } from './targets.ts';
import { scanIndexDir, listFiles, scanHeaders } from './scan.ts';
import { orderScanned, readableSlices, sliceRef, sortPatients } from './assemble.ts';
import { BadInput, missingRescaleRule, onBadFileSchema, readerVariant, rescaleOptions, type Dataset, type DatasetContext } from './types.ts';
import type { RegistryEntry } from '../../core/registry.ts';

/** The label columns of the Kaggle RSNA Intracranial Hemorrhage Detection CSV, in the order targets use. */
export const rsnaSubtypes = ['epidural', 'intraparenchymal', 'intraventricular', 'subarachnoid', 'subdural'] as const;
const rsnaLabels = [...rsnaSubtypes, 'any'] as const;

export const rsnaIchConfigSchema = z.object({
  /** The competition folder: `stage_2_train.csv`, `stage_2_train/`, `stage_2_test/`. */
  root: z.string().min(1),
  split: z.enum(['train', 'test']).default('train'),
  /**
   * Label CSV (`ID,Label` rows `ID_<image>_<subtype>`; extra columns such as a solution's `Usage` are ignored),
   * relative to root. Default `stage_2_train.csv` for the train split and none for the test split, which is then
   * unlabelled; name one (e.g. released stage-1 test labels, or demo data's `solution.csv`) to score on it.
   */
  labelsCsv: z.string().optional(),
  /** Image folder relative to root; default `stage_2_train` or `stage_2_test` by split. */
  images: z.string().optional(),
  /** A patient is a study (the Kaggle solutions' usual choice) or a series. */
  groupBy: z.enum(['study', 'series']).default('study'),
  /** Keep the CSV's `any` label as a sixth class (the competition scored it, weight 2). */
  includeAny: z.boolean().default(true),
  noFinding: z.string().optional(),
  onBadFile: onBadFileSchema,
  ...rescaleOptions,
  /** Where the header-scan index goes; `null` for none. Default: the context's, else ~/.cache/sliceseq. */
  cacheDir: z.string().nullable().optional(),
});
export type RsnaIchConfig = z.output<typeof rsnaIchConfigSchema>;

interface ImageLabels {
  values: Float32Array;
  /** Line of each label's row (0 = not seen yet). */
  lines: number[];
  conflicting: boolean;
}

/**
 * Reads `ID,Label` rows `ID_<image>_<subtype>`: one row per image and label (the five subtypes and `any`).
 * Bad rows (more or fewer fields than the header, malformed ID, unknown subtype, value other than 0/1, a conflicting duplicate, an image missing a
 * label row, `any` disagreeing with the subtypes) go to `bad` with their 1-based line; identical duplicates are
 * listed as ignored.
 */
export function parseRsnaLabels(text: string, file: string, bad: BadInput, options: { includeAny?: boolean } = {}): { images: Map<string, ImageLabels>; rejected: Set<string> } {
  const includeAny = options.includeAny ?? true;
  const images = new Map<string, ImageLabels>();
  const rejected = new Set<string>();
  let idColumn = -1;
  let labelColumn = -1;
  let header: string[] = [];
  forEachCsvRecord(text, file, (fields, line) => {
    if (idColumn < 0) {
      header = fields.map((f) => f.trim());
      idColumn = header.indexOf('ID');
      labelColumn = header.indexOf('Label');
      if (idColumn < 0 || labelColumn < 0) {
        throw new Error(`${at(file, line)}: expected the header 'ID,Label', got '${fields.join(',')}'`);
      }
      return;
    }
    if (fields.length !== header.length) {
      return bad.report({ file, line, reason: `expected ${header.length} fields (${header.join(',')}), got ${fields.length}` });
    }
    const id = fields[idColumn]?.trim() ?? '';
    const value = fields[labelColumn]?.trim();
    const split = id.lastIndexOf('_');
    const image = id.slice(0, split);
    const label = rsnaLabels.indexOf(id.slice(split + 1) as (typeof rsnaLabels)[number]);
    if (!id.startsWith('ID_') || split <= 3) return bad.report({ file, line, reason: `ID '${id}' is not ID_<image>_<subtype>` });
    if (label < 0) return bad.report({ file, line, reason: `unknown subtype '${id.slice(split + 1)}' (expected ${rsnaLabels.join(', ')})` });
    if (value !== '0' && value !== '1') return bad.report({ file, line, reason: `Label must be 0 or 1, got '${value}'` });
    let entry = images.get(image);
    if (!entry) {
      entry = { values: new Float32Array(rsnaLabels.length), lines: new Array(rsnaLabels.length).fill(0), conflicting: false };
      images.set(image, entry);
    }
    if (entry.lines[label] > 0) {
      // The real stage_2_train.csv repeats a few rows verbatim: harmless, so listed but not fatal.
      if (entry.values[label] === Number(value)) {
        return bad.tolerate({ file, line, reason: `duplicate row for ${id} (same Label as line ${entry.lines[label]}; ignored)` });
      }
      entry.conflicting = true;
      return bad.report({ file, line, reason: `duplicate row for ${id} with a different Label than line ${entry.lines[label]}` });
    }
    entry.values[label] = Number(value);
    entry.lines[label] = line;
  });
  if (idColumn < 0) throw new Error(`${file}: empty CSV (no header row)`);
  const anyAt = rsnaSubtypes.length;
  // A labels file without any `any` row is a file of subtypes only, not one bad row per image.
  if (includeAny && images.size > 0 && [...images.values()].every((entry) => entry.lines[anyAt] === 0)) {
    throw new Error(
      `${file}: no row has the label 'any' (its rows give the five subtypes only); to train on the subtypes alone set includeAny: false ` +
        'in data.dataset (--set data.dataset.includeAny=false)',
    );
  }
  for (const [image, entry] of images) {
    const firstLine = Math.min(...entry.lines.filter((l) => l > 0));
    // Without the `any` class its row may be absent: then it is what the subtypes say.
    if (!includeAny && entry.lines[anyAt] === 0) {
      entry.values[anyAt] = Math.max(...entry.values.subarray(0, anyAt));
      entry.lines[anyAt] = firstLine;
    }
    const missing = rsnaLabels.filter((_, i) => entry.lines[i] === 0);
    const anyLine = entry.lines[rsnaSubtypes.length];
    let problem: { line: number; reason: string } | undefined;
    if (entry.conflicting) problem = { line: firstLine, reason: `conflicting duplicate rows for ${image}` };
    else if (missing.length > 0) problem = { line: firstLine, reason: `${image} has no row for ${missing.join(', ')}` };
    else if (entry.values[rsnaSubtypes.length] !== Math.max(...entry.values.subarray(0, rsnaSubtypes.length))) {
      problem = { line: anyLine, reason: `${image}_any is ${entry.values[rsnaSubtypes.length]} but its subtypes say ${1 - entry.values[rsnaSubtypes.length]}` };
    }
    if (problem) {
      bad.report({ file, ...problem });
      images.delete(image);
      rejected.add(image);
    }
  }
  return { images, rejected };
}

async function loadRsnaIch(config: RsnaIchConfig, context: DatasetContext): Promise<Dataset> {
  const root = resolve(config.root);
  const imagesDir = resolve(root, config.images ?? (config.split === 'train' ? 'stage_2_train' : 'stage_2_test'));
  const bad = new BadInput(config.onBadFile, 'rsna-ich dataset');
  const labelSchema = binarySchema(config.includeAny ? [...rsnaLabels] : [...rsnaSubtypes], config.noFinding);
  const width = labelSchema.groups[0].classes.length;

  const entries = await listFiles(imagesDir, ['*.dcm']);
  if (entries.length === 0) throw new Error(`no .dcm files in ${imagesDir}`);
  const imageId = (path: string) => basename(path).replace(/\.dcm$/i, '');

  let labels: Map<string, ImageLabels> | undefined;
  let usable = entries;
  const labelsCsv = config.labelsCsv ?? (config.split === 'train' ? 'stage_2_train.csv' : undefined);
  if (labelsCsv !== undefined) {
    const labelsFile = resolve(root, labelsCsv);
    const parsed = parseRsnaLabels(await readTextFile(labelsFile), labelsFile, bad, { includeAny: config.includeAny });
    labels = parsed.images;
    const present = new Set(entries.map((e) => imageId(e.path)));
    for (const [image, entry] of labels) {
      if (!present.has(image)) {
        bad.report({ file: labelsFile, line: Math.min(...entry.lines), reason: `no image ${join(imagesDir, `${image}.dcm`)} for ${image}` });
      }
    }
    usable = entries.filter((entry) => {
      if (labels!.has(imageId(entry.path))) return true;
      // An image whose label rows were bad is already reported (and left out) under its CSV line.
      if (!parsed.rejected.has(imageId(entry.path))) bad.report({ file: entry.path, reason: `no label rows in ${labelsFile}` });
      return false;
    });
  }

  const cacheDir = scanIndexDir(config.cacheDir, context.cacheDir);
  const missingRescale = missingRescaleRule(config);
  const readMeta = context.readMeta ?? ((path: string) => readDicomMetas(path, { missingRescale }));
  const scan = await scanHeaders(usable, { readMeta, cacheDir, scope: imagesDir, variant: readerVariant(missingRescale) });
  const grouped = readableSlices(scan.files, bad).filter((slice) => {
    if (groupKey(slice.meta, config.groupBy) !== undefined) return true;
    bad.report({ file: slice.path, reason: `no ${config.groupBy === 'study' ? 'StudyInstanceUID' : 'SeriesInstanceUID'} to group by` });
    return false;
  });

  const patients: Patient[] = [];
  const orderChecks: Dataset['orderChecks'] = {};
  for (const [id, slices] of groupBy(grouped, (slice) => groupKey(slice.meta, config.groupBy)!)) {
    const { ordered, check } = orderScanned(slices);
    orderChecks[id] = check;
    // A slice is named by its file stem, which the label CSV and the sample submission key on (in the Kaggle data it is also the SOPInstanceUID).
    const patient: Patient = { id, slices: ordered.map((slice) => sliceRef(slice, imageId(slice.path), missingRescale)) };
    if (labels) {
      patient.sliceTargets = ordered.map((slice) => labels!.get(imageId(slice.path))!.values.slice(0, width));
      patient.targets = aggregateSliceTargets(labelSchema, patient.sliceTargets);
    }
    patients.push(patient);
  }
  bad.warnSummary();
  return {
    kind: 'rsna-ich',
    source: imagesDir,
    labelSchema,
    patients: sortPatients(patients),
    labelled: labels !== undefined,
    sliceLabelled: labels !== undefined,
    orderChecks,
    skipped: bad.skipped,
  };
}

export const rsnaIchDataset: RegistryEntry<typeof rsnaIchConfigSchema, DatasetContext, Promise<Dataset>> = {
  name: 'rsna-ich',
  description: 'Kaggle RSNA Intracranial Hemorrhage Detection: stage_2_train.csv (ID_<image>_<subtype>,Label) + DICOM slices grouped by study or series',
  schema: rsnaIchConfigSchema,
  create: loadRsnaIch,
};
