import { basename, dirname, join, relative, resolve, isAbsolute } from 'node:path';
import { readdir } from 'node:fs/promises';
import { z } from 'zod';
import { readMeta } from '../readers/index.ts';
import { labelSchemaSchema } from '../../labels/schema.ts';
import { groupBy, type Patient } from '../patients.ts';
import type { RegistryEntry } from '../../core/registry.ts';
import { readCsv } from './csv.ts';
import { patientLabelsFromTable } from './targets.ts';
import { scanIndexDir, listFiles, scanHeaders } from './scan.ts';
import { orderScanned, readableSlices, sliceRef, sortPatients } from './assemble.ts';
import { BadInput, missingRescaleRule, onBadFileSchema, readerVariant, rescaleOptions, type Dataset, type DatasetContext } from './types.ts';

export const foldersConfigSchema = z
  .object({
    /** One sub-folder per patient (its name is the patient id), slices inside. */
    root: z.string().min(1),
    /** Label CSV (relative to root, or absolute) with one row per patient; none for unlabelled data. */
    labelsCsv: z.string().optional(),
    idColumn: z.string().default('patient_id'),
    /** The labels and so the label columns of `labelsCsv` (see targets.ts). */
    labels: labelSchemaSchema.optional(),
    /** Slice file extensions, without the dot. */
    extensions: z.array(z.string().regex(/^[A-Za-z0-9.]+$/)).min(1).default(['dcm', 'png', 'jpg', 'jpeg', 'tif', 'tiff', 'nii', 'nii.gz']),
    onBadFile: onBadFileSchema,
    ...rescaleOptions,
    cacheDir: z.string().nullable().optional(),
  })
  .superRefine((config, ctx) => {
    if ((config.labelsCsv === undefined) !== (config.labels === undefined)) {
      ctx.addIssue({ code: 'custom', path: [config.labels ? 'labelsCsv' : 'labels'], message: 'labelsCsv and labels go together: give both or neither' });
    }
  });
export type FoldersConfig = z.output<typeof foldersConfigSchema>;

async function loadFolders(config: FoldersConfig, context: DatasetContext): Promise<Dataset> {
  const root = resolve(config.root);
  const bad = new BadInput(config.onBadFile, 'folders dataset');
  let folders: string[];
  try {
    folders = (await readdir(root, { withFileTypes: true })).filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name);
  } catch (error) {
    throw new Error(`cannot list patient folders in ${root}: ${(error as Error).message}`);
  }
  if (folders.length === 0) throw new Error(`no patient folders in ${root}`);

  const labelsFile = config.labelsCsv && (isAbsolute(config.labelsCsv) ? config.labelsCsv : join(root, config.labelsCsv));
  const labels = labelsFile && config.labels ? patientLabelsFromTable(await readCsv(labelsFile), config.idColumn, config.labels, bad) : undefined;
  if (labels && labelsFile) {
    const known = new Set(folders);
    for (const [id, { line }] of labels) {
      if (!known.has(id)) bad.report({ file: labelsFile, line, reason: `no patient folder ${join(root, id)} for '${id}'` });
    }
  }

  const pattern = `*/*.{${config.extensions.join(',')}}`;
  const entries = await listFiles(root, [config.extensions.length > 1 ? pattern : pattern.replace(/[{}]/g, '')]);
  const cacheDir = scanIndexDir(config.cacheDir, context.cacheDir);
  const missingRescale = missingRescaleRule(config);
  const scan = await scanHeaders(entries, { readMeta: context.readMeta ?? ((path) => readMeta(path, { missingRescale })), cacheDir, scope: root, variant: readerVariant(missingRescale) });
  const filesByFolder = groupBy(scan.files, (file) => basename(dirname(file.path)));

  const patients: Patient[] = [];
  const orderChecks: Dataset['orderChecks'] = {};
  for (const id of folders) {
    const folder = join(root, id);
    const files = filesByFolder.get(id) ?? [];
    const readable = readableSlices(files, bad);
    if (readable.length === 0) {
      const why = files.length === 0 ? `no files with extension ${config.extensions.join('/')}` : `none of its ${files.length} files is readable`;
      bad.report({ file: folder, reason: `patient '${id}' has no readable slices (${why})` });
      continue;
    }
    const patientLabels = labels?.get(id);
    if (labels && !patientLabels) {
      bad.report({ file: folder, reason: `patient '${id}' has no row in ${labelsFile}` });
      continue;
    }
    const { ordered, check } = orderScanned(readable);
    orderChecks[id] = check;
    patients.push({ id, slices: ordered.map((slice) => sliceRef(slice, relative(root, slice.path), missingRescale)), ...(patientLabels ? { targets: patientLabels.targets } : {}) });
  }
  bad.warnSummary();
  return {
    kind: 'folders',
    source: root,
    labelSchema: config.labels,
    patients: sortPatients(patients),
    labelled: labels !== undefined,
    sliceLabelled: false,
    orderChecks,
    skipped: bad.skipped,
    listed: scan.key,
  };
}

export const foldersDataset: RegistryEntry<typeof foldersConfigSchema, DatasetContext, Promise<Dataset>> = {
  name: 'folders',
  description: 'one folder per patient (slices ordered by header position, instance number or file name), labels from a CSV by patient id',
  schema: foldersConfigSchema,
  create: loadFolders,
};
