import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { readMeta } from '../readers/index.ts';
import { labelSchemaSchema, type LabelSchema } from '../../labels/schema.ts';
import { groupBy, type MaskRef, type OrderCheck, type Patient } from '../patients.ts';
import { denseOrdinalGroupSchema } from '../../labels/dense-ordinal.ts';
import type { RegistryEntry } from '../../core/registry.ts';
import { readCsv, requireColumns, type CsvRow } from './csv.ts';
import { aggregateSliceTargets, parseRowTargets, requireLabelColumns } from './targets.ts';
import { scanIndexDir, scanHeaders, slicesOf, statFiles, type ScannedSlice } from './scan.ts';
import { orderScanned, sliceRef, sortPatients } from './assemble.ts';
import { BadInput, missingRescaleRule, onBadFileSchema, readerVariant, rescaleOptions, type Dataset, type DatasetContext } from './types.ts';

export const manifestConfigSchema = z.object({
  /** The folder a relative `csv` is read from (default: the working folder); `sliceseq run --data` sets it. */
  root: z.string().min(1).optional(),
  /** The manifest: one row per slice. Slice paths are relative to the CSV's folder. */
  csv: z.string().min(1),
  patientColumn: z.string().default('patient_id'),
  pathColumn: z.string().default('path'),
  /** A column naming each slice in predictions and submissions (unique); without it the path cell as written names it. */
  idColumn: z.string().optional(),
  /** A numeric column ordering each patient's slices; without it slices are ordered from their headers. */
  orderColumn: z.string().optional(),
  /** The labels and so the label columns (see targets.ts); none for an unlabelled manifest. */
  labels: labelSchemaSchema.optional(),
  /** `patient`: every row of a patient carries the patient's labels (they must agree); `slice`: labels per slice. */
  labelLevel: z.enum(['patient', 'slice']).default('patient'),
  onBadFile: onBadFileSchema,
  ...rescaleOptions,
  cacheDir: z.string().nullable().optional(),
  /**
   * Dense label maps: a dense-ordinal group and its mask columns, one per type (single-channel files, in the
   * group's type order) or one (a file with a channel per type). Paths are relative to the CSV's folder; a
   * volume row's mask is a volume with the same frames.
   */
  masks: z
    .object({ group: denseOrdinalGroupSchema, columns: z.array(z.string().min(1)).min(1) })
    .strict()
    .refine((masks) => masks.columns.length === 1 || masks.columns.length === masks.group.classes.length, {
      message: 'give one mask column per type, or one column (a file with a channel per type)',
      path: ['columns'],
    })
    .optional(),
  /** A column whose value `test` puts the patient in the held-out test set (instead of a random draw). */
  splitColumn: z.string().optional(),
});
export type ManifestConfig = z.output<typeof manifestConfigSchema>;

/** A slice with the manifest row it came from (a volume's row gives several slices). */
interface ManifestSlice extends ScannedSlice {
  row: CsvRow;
  orderKey: number;
  targets?: Float32Array;
  masks?: MaskRef;
}

async function loadManifest(config: ManifestConfig, context: DatasetContext): Promise<Dataset> {
  const csvFile = resolve(config.root ?? '.', config.csv);
  const table = await readCsv(csvFile);
  const bad = new BadInput(config.onBadFile, 'manifest dataset');
  const missingRescale = missingRescaleRule(config);
  const schema: LabelSchema | undefined = config.labels;
  requireColumns(table, [config.patientColumn, config.pathColumn, ...(config.orderColumn ? [config.orderColumn] : []), ...(config.idColumn ? [config.idColumn] : [])]);
  if (schema) requireLabelColumns(table, schema);
  requireColumns(table, [...(config.masks?.columns ?? []), ...(config.splitColumn ? [config.splitColumn] : [])]);

  // Row checks first: id, path, duplicates, order key, label cells.
  const firstLineOfPath = new Map<string, number>();
  const firstLineOfId = new Map<string, number>();
  const rows: Array<{ row: CsvRow; path: string; orderKey: number; targets?: Float32Array; masks?: string[] }> = [];
  for (const row of table.rows) {
    const report = (reason: string) => bad.report({ file: csvFile, line: row.line, reason });
    const patient = row.cells[config.patientColumn];
    const relative = row.cells[config.pathColumn];
    if (patient === '') {
      report(`empty '${config.patientColumn}'`);
      continue;
    }
    if (relative === '') {
      report(`empty '${config.pathColumn}'`);
      continue;
    }
    const path = resolve(dirname(csvFile), relative);
    const earlier = firstLineOfPath.get(path);
    if (earlier !== undefined) {
      report(`duplicate slice ${relative} (first at line ${earlier})`);
      continue;
    }
    firstLineOfPath.set(path, row.line);
    if (config.idColumn) {
      const id = row.cells[config.idColumn];
      if (id === '') {
        report(`empty '${config.idColumn}'`);
        continue;
      }
      const earlierId = firstLineOfId.get(id);
      if (earlierId !== undefined) {
        report(`duplicate '${config.idColumn}' ${id} (first at line ${earlierId})`);
        continue;
      }
      firstLineOfId.set(id, row.line);
    }
    const orderKey = config.orderColumn ? Number(row.cells[config.orderColumn]) : 0;
    if (config.orderColumn && (row.cells[config.orderColumn] === '' || !Number.isFinite(orderKey))) {
      report(`'${config.orderColumn}' must be a number, got '${row.cells[config.orderColumn]}'`);
      continue;
    }
    const targets = schema ? parseRowTargets(schema, row, csvFile, bad) : undefined;
    if (schema && !targets) continue;
    const emptyMask = config.masks?.columns.find((column) => row.cells[column] === '');
    if (emptyMask) {
      report(`empty mask column '${emptyMask}'`);
      continue;
    }
    const masks = config.masks?.columns.map((column) => resolve(dirname(csvFile), row.cells[column]));
    rows.push({ row, path, orderKey, targets, masks });
  }

  // Then the files: present and readable (mask files: present; their pixels are checked as they are read).
  const stats = await statFiles(rows.map((r) => r.path));
  const maskStats = await statFiles(rows.flatMap((r) => r.masks ?? []));
  let maskIndex = 0;
  const present = rows.flatMap((r, i) => {
    const missingMask = (r.masks ?? []).map(() => maskStats[maskIndex++]).find((entry) => entry.error !== undefined);
    if (missingMask) {
      bad.report({ file: csvFile, line: r.row.line, reason: `mask ${missingMask.path}: ${missingMask.error}` });
      return [];
    }
    if (stats[i].error === undefined) return [{ ...r, entry: stats[i] }];
    bad.report({ file: csvFile, line: r.row.line, reason: `${r.path}: ${stats[i].error}` });
    return [];
  });
  const cacheDir = scanIndexDir(config.cacheDir, context.cacheDir);
  const scan = await scanHeaders(
    present.map((r) => r.entry),
    { readMeta: context.readMeta ?? ((path) => readMeta(path, { missingRescale })), cacheDir, scope: csvFile, variant: readerVariant(missingRescale) },
  );
  const slices: ManifestSlice[] = [];
  scan.files.forEach((file, i) => {
    const { row, orderKey, targets, masks } = present[i];
    if (file.error !== undefined) bad.report({ file: csvFile, line: row.line, reason: `${file.path} is unreadable: ${file.error}` });
    else for (const slice of slicesOf(file)) slices.push({ ...slice, row, orderKey, targets, ...(masks ? { masks: { paths: masks, ...(slice.frame !== undefined ? { frame: slice.frame } : {}) } } : {}) });
  });

  const byPatient = groupBy(table.rows, (row) => row.cells[config.patientColumn]);
  const readableByPatient = groupBy(slices, (slice) => slice.row.cells[config.patientColumn]);
  const patients: Patient[] = [];
  const testIds: string[] = [];
  const orderChecks: Dataset['orderChecks'] = {};
  for (const [id, patientRows] of byPatient) {
    if (id === '') continue;
    const readable = readableByPatient.get(id) ?? [];
    if (readable.length === 0) {
      // Only reachable under 'skip': each of its rows was reported already; say what that means for the patient.
      bad.report({ file: csvFile, line: patientRows[0].line, reason: `patient '${id}' has no readable slices: none of its ${patientRows.length} row(s) is usable` });
      continue;
    }
    const { ordered, check } = orderManifestSlices(readable, config.orderColumn, csvFile, bad);
    if (!ordered) continue;
    if (check) orderChecks[id] = check;
    const patient: Patient = { id, slices: ordered.map((slice) => sliceRef(slice, slice.row.cells[config.idColumn ?? config.pathColumn], missingRescale)) };
    if (schema && !assignTargets(patient, ordered, schema, config.labelLevel, csvFile, bad)) continue;
    if (config.masks) patient.sliceMasks = ordered.map((slice) => slice.masks!);
    if (config.splitColumn) {
      const values = new Set(patientRows.map((row) => row.cells[config.splitColumn!] === 'test'));
      if (values.size > 1) {
        bad.report({ file: csvFile, line: patientRows[0].line, reason: `patient '${id}': rows disagree on whether '${config.splitColumn}' is 'test'` });
        continue;
      }
      if (values.has(true)) testIds.push(id);
    }
    patients.push(patient);
  }
  bad.warnSummary();
  return {
    kind: 'manifest',
    source: csvFile,
    labelSchema: schema,
    patients: sortPatients(patients),
    labelled: schema !== undefined || config.masks !== undefined,
    sliceLabelled: schema !== undefined && config.labelLevel === 'slice',
    ...(config.masks ? { dense: config.masks.group } : {}),
    ...(config.splitColumn ? { testIds: testIds.sort() } : {}),
    orderChecks,
    skipped: bad.skipped,
  };
}

/** By the order column (keys unique within a patient), else by the header rule (with its check). No `ordered` when the patient is dropped. */
function orderManifestSlices(
  slices: ManifestSlice[],
  orderColumn: string | undefined,
  file: string,
  bad: BadInput,
): { ordered?: ManifestSlice[]; check?: OrderCheck } {
  if (!orderColumn) return orderScanned(slices);
  const sorted = [...slices].sort((a, b) => a.orderKey - b.orderKey || (a.frame ?? 0) - (b.frame ?? 0));
  const clash = sorted.findIndex((slice, i) => i > 0 && slice.orderKey === sorted[i - 1].orderKey && slice.row !== sorted[i - 1].row);
  if (clash > 0) {
    bad.report({ file, line: sorted[clash].row.line, reason: `'${orderColumn}' ${sorted[clash].orderKey} repeats line ${sorted[clash - 1].row.line} of the same patient` });
    return {};
  }
  return { ordered: sorted };
}

/** Patient-level rows must agree; slice-level rows become slice targets and an aggregated patient row. */
function assignTargets(
  patient: Patient,
  ordered: ManifestSlice[],
  schema: LabelSchema,
  level: 'patient' | 'slice',
  file: string,
  bad: BadInput,
): boolean {
  const rows = ordered.map((slice) => slice.targets!);
  if (level === 'patient') {
    const byLine = [...ordered].sort((a, b) => a.row.line - b.row.line);
    const differing = byLine.find((slice) => slice.targets!.some((value, i) => value !== byLine[0].targets![i]));
    if (differing) {
      bad.report({ file, line: differing.row.line, reason: `labels differ from line ${byLine[0].row.line} of patient '${patient.id}' (labelLevel is 'patient')` });
      return false;
    }
    patient.targets = rows[0];
    return true;
  }
  try {
    patient.targets = aggregateSliceTargets(schema, rows);
  } catch (error) {
    bad.report({ file, line: ordered[0].row.line, reason: `patient '${patient.id}': ${(error as Error).message}` });
    return false;
  }
  patient.sliceTargets = rows;
  return true;
}

export const manifestDataset: RegistryEntry<typeof manifestConfigSchema, DatasetContext, Promise<Dataset>> = {
  name: 'manifest',
  description: 'a CSV with one row per slice: patient id, slice path (relative to the CSV), optional order key, label columns, mask columns, split column',
  schema: manifestConfigSchema,
  create: loadManifest,
};
