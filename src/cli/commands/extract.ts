import type { Command } from 'commander';
import { basename, join } from 'node:path';
import { addSharedOptions, experimentSets, wholeNumber } from '../options.ts';
import type { BackendPreference } from '../../backend/preferences.ts';
import type { ExperimentInput } from '../../experiments/config.ts';
import type { ExtractResult } from '../../experiments/extract.ts';

export interface ExtractCommandOptions {
  fromRun?: string;
  tta?: boolean;
  cache?: string;
  data?: string;
  set?: string[];
  backend?: BackendPreference;
  threads?: number;
  workers?: number;
  seed?: number;
  quick?: boolean;
  force?: boolean;
  batchSize?: number;
  /** Recorded in the cache index (the CLI passes the file it loaded). */
  experimentFile?: string;
}

/** `embeddings/<run>` for a trained backbone, `embeddings/<experiment>-init` for an untrained one; `-tta` with TTA. */
export function defaultEmbeddingsDir(experimentName: string, options: Pick<ExtractCommandOptions, 'fromRun' | 'tta'>): string {
  const stem = options.fromRun ? basename(options.fromRun.replace(/[/\\]+$/, '')) : `${experimentName}-init`;
  return join('embeddings', `${stem}${options.tta ? '-tta' : ''}`);
}

/** Resolves the experiment as `sliceseq run` would, loads its dataset and extracts every patient's slice embeddings. */
export async function extractExperiment(input: ExperimentInput, options: ExtractCommandOptions): Promise<ExtractResult> {
  const { resolveExperiment } = await import('../../experiments/resolve.ts');
  const { initBackend } = await import('../../backend/select.ts');
  const { loadDataset } = await import('../../data/datasets/registry.ts');
  const { extractEmbeddings } = await import('../../experiments/extract.ts');
  const { writeSkippedFiles } = await import('../../runs/run-dir.ts');
  const sets = experimentSets({ set: options.set ?? [], workers: options.workers });
  const experiment = resolveExperiment(input, { data: options.data, sets, seed: options.seed, quick: options.quick, backend: options.backend, threads: options.threads });
  const patientsPerBatch = options.batchSize;
  await initBackend(experiment.backend, { threads: experiment.threads || undefined });
  const dataset = await loadDataset(experiment.data.dataset, { cacheDir: experiment.data.indexDir });
  const cache = options.cache ?? defaultEmbeddingsDir(experiment.name, options);
  const result = await extractEmbeddings(experiment, dataset, {
    cache,
    fromRun: options.fromRun,
    tta: options.tta,
    force: options.force,
    patientsPerBatch,
    experimentFile: options.experimentFile,
  });
  if (dataset.skipped.length > 0) writeSkippedFiles(cache, dataset.skipped);
  return result;
}

/** The lines a researcher reads: where the cache is, its fingerprint, and how a sequence experiment names it. */
export function summarizeExtraction(result: ExtractResult, file: string, options: ExtractCommandOptions): string {
  const extract = [`experiment: '${file}'`, options.fromRun ? `fromRun: '${options.fromRun}'` : '', options.tta ? 'tta: true' : '', options.quick ? 'quick: true' : '']
    .filter(Boolean)
    .join(', ');
  return [
    `cache: ${result.cache}${result.reused ? ' (already up to date)' : ''}`,
    `fingerprint: ${result.fingerprint} (model ${result.parts.model}, preprocess ${result.parts.preprocess}, data ${result.parts.data})`,
    `embeddings: ${result.patients} patients, ${result.slices} slices × ${result.features} features, ${result.slicesPerSecond.toFixed(1)} slices/s`,
    `use in an experiment: data: { embeddings: { cache: '${result.cache}', extract: { ${extract} } } }`,
  ].join('\n');
}

export function registerExtract(program: Command): void {
  const command = program
    .command('extract')
    .description("two-stage mode: run a slice CNN once over every slice and cache per-slice embeddings (.npy) for sequence models")
    .argument('<experiment>', 'experiment file whose backbone and preprocessing to use, e.g. experiments/quickstart.ts')
    .option('--from-run <dir>', "take the trained backbone from a finished run's model/ (else the experiment's own initial weights)")
    .option('--tta', "test-time augmentation: average each slice's embedding with its horizontal mirror's")
    .option('--cache <dir>', 'cache folder (default embeddings/<run> or embeddings/<experiment>-init, -tta with --tta)')
    .option('--data <dir>', 'dataset folder (overrides data.dataset.root)')
    .option('--quick', "apply the experiment's quick overrides")
    .option('--batch-size <patients>', 'patients decoded and embedded per step (their slices are in memory at once)', wholeNumber('--batch-size', 1), 4);
  addSharedOptions(command, {
    backend: {}, threads: {}, workers: {}, set: {}, seed: { help: "experiment seed (the untrained backbone's initial weights)" },
    resume: { refuse: 'an extraction is not resumed: an up-to-date cache is reused as it is, anything else is extracted afresh' },
    force: { help: 'replace a cache holding another extraction' },
    allowChanges: { refuse: 'a cache holds exactly one extraction; name another --cache instead' },
  });
  command.action(async (file: string, options: ExtractCommandOptions) => {
    const { loadExperimentFile } = await import('../../experiments/load.ts');
    const result = await extractExperiment(await loadExperimentFile(file), { ...options, experimentFile: file });
    process.stdout.write(`${summarizeExtraction(result, file, options)}\n`);
  });
}
