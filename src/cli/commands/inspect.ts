import type { Command } from 'commander';
import { stat } from 'node:fs/promises';

interface InspectOptions {
  json?: boolean;
  dataset?: string;
  datasetOptions?: string;
  indexDir?: string;
}

/** `--dataset-options` as an object; errors say what was wrong with the JSON. */
function parseDatasetOptions(text: string | undefined): Record<string, unknown> {
  if (text === undefined) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`--dataset-options: not valid JSON (${(error as Error).message})`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('--dataset-options: expected a JSON object');
  return value as Record<string, unknown>;
}

/** `inspect PATH --dataset NAME`: patients, slices per patient, slice order, label counts, bad files. */
async function inspectDatasetCommand(path: string, options: InspectOptions): Promise<void> {
  const { formatDatasetReport, inspectDataset } = await import('../../data/inspect-dataset.ts');
  const indexDir = options.indexDir === undefined ? undefined : options.indexDir === 'none' ? null : options.indexDir;
  const report = await inspectDataset(path, { ...parseDatasetOptions(options.datasetOptions), name: options.dataset! }, indexDir === undefined ? {} : { cacheDir: indexDir });
  process.stdout.write(`${options.json ? JSON.stringify(report, null, 2) : formatDatasetReport(report)}\n`);
  if (report.skipped.length > 0) process.exitCode = 1;
}

/** `sliceseq inspect FILE`: the tags that matter and the value range; exits non-zero on a bad file. */
export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description('show a DICOM / image / NIfTI file’s key tags (UIDs, position, rescale, window, transfer syntax) and HU range; with --dataset, summarise a dataset')
    .argument('<path>', 'the file to inspect (with --dataset: the dataset folder, or the manifest CSV)')
    .option('--json', 'print JSON')
    .option('--dataset <name>', 'inspect PATH as a dataset (rsna-ich, manifest, folders): patients, slices per patient, order check, label counts, bad files')
    .option('--dataset-options <json>', 'dataset options as a JSON object, e.g. \'{"groupBy":"series"}\'')
    .option('--index-dir <dir>', "folder for the header-scan index ('none': no index; default as for runs: $SLICESEQ_CACHE or ~/.cache/sliceseq)")
    .action(async (path: string, options: InspectOptions) => {
      if (options.dataset) return inspectDatasetCommand(path, options);
      if (options.datasetOptions) throw new Error('--dataset-options needs --dataset');
      if (options.indexDir) throw new Error('--index-dir needs --dataset');
      const info = await stat(path).catch(() => undefined);
      if (!info) throw new Error(`${path}: no such file`);
      if (info.isDirectory()) throw new Error(`${path}: is a folder; inspect takes one file`);
      const { formatFileReport, inspectFile } = await import('../../data/readers/inspect.ts');
      const report = await inspectFile(path);
      const text = options.json ? JSON.stringify(report, null, 2) : formatFileReport(report).join('\n');
      process.stdout.write(`${text}\n`);
      if (!report.ok) process.exitCode = 1;
    });
}
