import { join, resolve, sep } from 'node:path';
import { z } from 'zod';
import { readDicomMetas } from '../readers/dicom.ts';
import { binarySchema } from '../../labels/schema.ts';
import { groupBy, groupKey, type Patient } from '../patients.ts';
import { at, forEachCsvRecord, readBytes } from './csv.ts';
import { aggregateSliceTargets } from './targets.ts';
import { scanIndexDir, listFiles, scanHeaders } from './scan.ts';
import { orderScanned, readableSlices, sliceRef, sortPatients } from './assemble.ts';
import { BadInput, missingRescaleRule, onBadFileSchema, readerVariant, rescaleOptions, type Dataset, type DatasetContext, type SkippedItem } from './types.ts';
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

/** The label CSV in compact columns (stage_2_train.csv has 4.5M rows): one map from image id to row, one byte per label. */
export interface RsnaLabels {
  /** Image id → row of `values`. */
  rows: Map<string, number>;
  /** Row-major [row, label] 0/1 values, labels in the CSV's order (the five subtypes, then `any`). */
  values: Uint8Array;
  /** The 1-based CSV line of each row's first label row. */
  firstLines: Int32Array;
  /** Images left out because their rows were bad (each already reported under its line). */
  rejected: Set<string>;
}

/** A typed array twice as long (or at least `length`), holding the old values. */
function grown<T extends Uint8Array | Int32Array>(array: T, length: number): T {
  if (length <= array.length) return array;
  const next = new (array.constructor as new (n: number) => T)(Math.max(length, 2 * array.length));
  next.set(array);
  return next;
}

/** Whitespace as String.prototype.trim sees it, within ASCII: tab, LF, VT, FF, CR, space. */
const isSpace = (byte: number) => byte === 0x20 || (byte >= 0x09 && byte <= 0x0d);
const labelBytes = rsnaLabels.map((label) => Buffer.from(label));

/**
 * Reads `ID,Label` rows `ID_<image>_<subtype>`: one row per image and label (the five subtypes and `any`).
 * Bad rows (more or fewer fields than the header, malformed ID, unknown subtype, value other than 0/1, a conflicting duplicate, an image missing a
 * label row, `any` disagreeing with the subtypes) go to `bad` with their 1-based line; identical duplicates are
 * listed as ignored (one summary line for all of them).
 *
 * stage_2_train.csv has 4.5M rows, so the file is read as bytes: a line of ASCII without quotes (every line of the
 * competition's files) is taken apart in place, without a string or an array per row; the image id becomes a
 * string once per image (its six rows are adjacent). A line with other bytes is decoded and split as text, and a
 * file holding a quote anywhere goes through the RFC 4180 reader (csv.ts); the rules and messages are the same.
 */
export function parseRsnaLabels(input: string | Uint8Array, file: string, bad: BadInput, options: { includeAny?: boolean; text?: boolean } = {}): RsnaLabels {
  const includeAny = options.includeAny ?? true;
  const width = rsnaLabels.length;
  const rows = new Map<string, number>();
  let values = new Uint8Array(width * 1024);
  /** Per row and label, the line it was read from (0: not yet). */
  let lines = new Int32Array(width * 1024);
  let conflicting = new Uint8Array(1024);
  let idColumn = -1;
  let labelColumn = -1;
  let header: string[] = [];
  const onHeader = (fields: string[], line: number) => {
    header = fields.map((f) => f.trim());
    idColumn = header.indexOf('ID');
    labelColumn = header.indexOf('Label');
    if (idColumn < 0 || labelColumn < 0) {
      throw new Error(`${at(file, line)}: expected the header 'ID,Label', got '${fields.join(',')}'`);
    }
  };
  // The last image id seen (its bytes in `lastBuffer`) and its row: the next five rows are usually the same image.
  let lastBuffer: Uint8Array | undefined;
  let lastStart = 0;
  let lastEnd = 0;
  let lastRow = -1;
  /** One data row: the ID in id[idStart, idEnd) and the Label in label[labelStart, labelEnd), both trimmed. */
  const onRow = (id: Buffer, idStart: number, idEnd: number, label: Buffer, labelStart: number, labelEnd: number, line: number) => {
    let split = idEnd - 1;
    while (split >= idStart && id[split] !== 0x5f) split--;
    if (idEnd - idStart < 3 || id[idStart] !== 0x49 || id[idStart + 1] !== 0x44 || id[idStart + 2] !== 0x5f || split - idStart <= 3) {
      return bad.report({ file, line, reason: `ID '${id.toString('utf8', idStart, idEnd)}' is not ID_<image>_<subtype>` });
    }
    let subtype = -1;
    for (let l = 0; l < width && subtype < 0; l++) {
      const name = labelBytes[l];
      if (name.length !== idEnd - split - 1) continue;
      let k = 0;
      while (k < name.length && name[k] === id[split + 1 + k]) k++;
      if (k === name.length) subtype = l;
    }
    if (subtype < 0) return bad.report({ file, line, reason: `unknown subtype '${id.toString('utf8', split + 1, idEnd)}' (expected ${rsnaLabels.join(', ')})` });
    const value = labelEnd - labelStart === 1 ? label[labelStart] - 0x30 : -1;
    if (value !== 0 && value !== 1) return bad.report({ file, line, reason: `Label must be 0 or 1, got '${label.toString('utf8', labelStart, labelEnd)}'` });
    let row = -1;
    if (lastBuffer === id && lastEnd - lastStart === split - idStart) {
      let k = 0;
      while (k < split - idStart && id[lastStart + k] === id[idStart + k]) k++;
      if (k === split - idStart) row = lastRow;
    }
    if (row < 0) {
      const image = id.toString('utf8', idStart, split);
      row = rows.get(image) ?? -1;
      if (row < 0) {
        row = rows.size;
        rows.set(image, row);
        values = grown(values, (row + 1) * width);
        lines = grown(lines, (row + 1) * width);
        conflicting = grown(conflicting, row + 1);
      }
      [lastBuffer, lastStart, lastEnd, lastRow] = [id, idStart, split, row];
    }
    const cell = row * width + subtype;
    if (lines[cell] > 0) {
      // The real stage_2_train.csv repeats a few rows verbatim: harmless, so listed but not fatal.
      if (values[cell] === value) {
        return bad.tolerate({ file, line, kind: 'identical duplicate rows (ignored)', reason: `duplicate row for ${id.toString('utf8', idStart, idEnd)} (same Label as line ${lines[cell]}; ignored)` });
      }
      conflicting[row] = 1;
      return bad.report({ file, line, reason: `duplicate row for ${id.toString('utf8', idStart, idEnd)} with a different Label than line ${lines[cell]}` });
    }
    values[cell] = value;
    lines[cell] = line;
  };
  /** A record already split into fields (as text): checked and handed to onRow as bytes. */
  const onFields = (fields: string[], line: number) => {
    if (idColumn < 0) return onHeader(fields, line);
    if (fields.length !== header.length) {
      return bad.report({ file, line, reason: `expected ${header.length} fields (${header.join(',')}), got ${fields.length}` });
    }
    const id = Buffer.from(fields[idColumn].trim());
    const label = Buffer.from(fields[labelColumn].trim());
    onRow(id, 0, id.length, label, 0, label.length, line);
  };

  const bytes = typeof input === 'string' ? Buffer.from(input) : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (options.text || bytes.includes(0x22)) forEachCsvRecord(bytes.toString('utf8'), file, onFields);
  else {
    const end = bytes.length;
    let pos = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
    for (let line = 1; pos < end; line++) {
      let newline = bytes.indexOf(0x0a, pos);
      if (newline < 0) newline = end;
      const start = pos;
      const stop = newline > start && bytes[newline - 1] === 0x0d ? newline - 1 : newline;
      pos = newline + 1;
      if (stop === start) continue; // a blank line
      // Field bounds of the two columns read, and whether the line is plain ASCII.
      let field = 0;
      let ascii = true;
      let [idStart, idEnd, labelStart, labelEnd] = [start, stop, start, stop];
      for (let k = start; k < stop; k++) {
        const byte = bytes[k];
        if (byte >= 0x80) ascii = false;
        else if (byte === 0x2c) {
          if (field === idColumn) idEnd = k;
          else if (field + 1 === idColumn) idStart = k + 1;
          if (field === labelColumn) labelEnd = k;
          else if (field + 1 === labelColumn) labelStart = k + 1;
          field++;
        }
      }
      const fields = field + 1;
      if (idColumn < 0 || !ascii) {
        onFields(bytes.toString('utf8', start, stop).split(','), line);
        continue;
      }
      if (fields !== header.length) {
        bad.report({ file, line, reason: `expected ${header.length} fields (${header.join(',')}), got ${fields}` });
        continue;
      }
      while (idStart < idEnd && isSpace(bytes[idStart])) idStart++;
      while (idEnd > idStart && isSpace(bytes[idEnd - 1])) idEnd--;
      while (labelStart < labelEnd && isSpace(bytes[labelStart])) labelStart++;
      while (labelEnd > labelStart && isSpace(bytes[labelEnd - 1])) labelEnd--;
      onRow(bytes, idStart, idEnd, bytes, labelStart, labelEnd, line);
    }
  }
  if (idColumn < 0) throw new Error(`${file}: empty CSV (no header row)`);
  const subtypes = rsnaSubtypes.length;
  // A labels file without any `any` row is a file of subtypes only, not one bad row per image.
  if (includeAny && rows.size > 0) {
    let anyRows = 0;
    for (const row of rows.values()) if (lines[row * width + subtypes] > 0) anyRows++;
    if (anyRows === 0) {
      throw new Error(
        `${file}: no row has the label 'any' (its rows give the five subtypes only); to train on the subtypes alone set includeAny: false ` +
          'in data.dataset (--set data.dataset.includeAny=false)',
      );
    }
  }
  const rejected = new Set<string>();
  const firstLines = new Int32Array(rows.size);
  for (const [image, row] of rows) {
    const base = row * width;
    let firstLine = Infinity;
    let anySubtype = 0;
    let firstSubtypeLine = 0;
    for (let label = 0; label < subtypes; label++) {
      const seen = lines[base + label];
      if (seen === 0) continue;
      anySubtype |= values[base + label];
      if (firstSubtypeLine === 0 || seen < firstSubtypeLine) firstSubtypeLine = seen;
    }
    // Without the `any` class its row may be absent: then it is what the subtypes say.
    if (!includeAny && lines[base + subtypes] === 0 && firstSubtypeLine > 0) {
      values[base + subtypes] = anySubtype;
      lines[base + subtypes] = firstSubtypeLine;
    }
    const missing: string[] = [];
    for (let label = 0; label < width; label++) {
      const seen = lines[base + label];
      if (seen === 0) missing.push(rsnaLabels[label]);
      else firstLine = Math.min(firstLine, seen);
    }
    firstLines[row] = firstLine;
    let problem: { line: number; reason: string } | undefined;
    if (conflicting[row]) problem = { line: firstLine, reason: `conflicting duplicate rows for ${image}` };
    else if (missing.length > 0) problem = { line: firstLine, reason: `${image} has no row for ${missing.join(', ')}` };
    else if (values[base + subtypes] !== anySubtype) {
      problem = { line: lines[base + subtypes], reason: `${image}_any is ${values[base + subtypes]} but its subtypes say ${anySubtype}` };
    }
    if (problem) {
      bad.report({ file, ...problem });
      rows.delete(image);
      rejected.add(image);
    }
  }
  return { rows, values, firstLines, rejected };
}

async function loadRsnaIch(config: RsnaIchConfig, context: DatasetContext): Promise<Dataset> {
  const root = resolve(config.root);
  const imagesDir = resolve(root, config.images ?? (config.split === 'train' ? 'stage_2_train' : 'stage_2_test'));
  const bad = new BadInput(config.onBadFile, 'rsna-ich dataset');
  const labelSchema = binarySchema(config.includeAny ? [...rsnaLabels] : [...rsnaSubtypes], config.noFinding);
  const width = labelSchema.groups[0].classes.length;

  const entries = await listFiles(imagesDir, ['*.dcm']);
  if (entries.length === 0) throw new Error(`no .dcm files in ${imagesDir}`);
  // A file's image id is its name without `.dcm` (basename and a regex cost ~1 µs a call, 4 calls a file at 752,803 files).
  const imageId = (path: string) => {
    const name = path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf(sep)) + 1);
    return name.length >= 4 && name.charCodeAt(name.length - 4) === 0x2e && name.slice(-3).toLowerCase() === 'dcm' ? name.slice(0, -4) : name;
  };

  let labels: RsnaLabels | undefined;
  let usable = entries;
  const labelsCsv = config.labelsCsv ?? (config.split === 'train' ? 'stage_2_train.csv' : undefined);
  if (labelsCsv !== undefined) {
    const labelsFile = resolve(root, labelsCsv);
    labels = parseRsnaLabels(await readBytes(labelsFile), labelsFile, bad, { includeAny: config.includeAny });
    const present = new Set(entries.map((e) => imageId(e.path)));
    const noImage: SkippedItem[] = [];
    for (const [image, row] of labels.rows) {
      if (!present.has(image)) noImage.push({ file: labelsFile, line: labels.firstLines[row], reason: `no image ${join(imagesDir, `${image}.dcm`)} for ${image}` });
    }
    bad.reportAll('label rows with no image file', noImage);
    const noLabels: SkippedItem[] = [];
    usable = entries.filter((entry) => {
      if (labels!.rows.has(imageId(entry.path))) return true;
      // An image whose label rows were bad is already reported (and left out) under its CSV line.
      if (!labels!.rejected.has(imageId(entry.path))) noLabels.push({ file: entry.path, reason: `no label rows in ${labelsFile}` });
      return false;
    });
    bad.reportAll('image files with no label rows', noLabels);
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
    const images = ordered.map((slice) => imageId(slice.path));
    const patient: Patient = { id, slices: ordered.map((slice, s) => sliceRef(slice, images[s], missingRescale)) };
    if (labels) {
      // One buffer per patient; each slice's row is a view of it (no per-slice buffers at 750k slices).
      const { rows, values } = labels;
      const targets = new Float32Array(ordered.length * width);
      images.forEach((image, s) => {
        const row = rows.get(image)!;
        for (let c = 0; c < width; c++) targets[s * width + c] = values[row * rsnaLabels.length + c];
      });
      patient.sliceTargets = ordered.map((_, s) => targets.subarray(s * width, (s + 1) * width));
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
    listed: scan.key,
  };
}

export const rsnaIchDataset: RegistryEntry<typeof rsnaIchConfigSchema, DatasetContext, Promise<Dataset>> = {
  name: 'rsna-ich',
  description: 'Kaggle RSNA Intracranial Hemorrhage Detection: stage_2_train.csv (ID_<image>_<subtype>,Label) + DICOM slices grouped by study or series',
  schema: rsnaIchConfigSchema,
  create: loadRsnaIch,
};
