import { Option, type Command } from 'commander';
import { addSharedOptions, positiveNumber, wholeNumber, type SharedOptions } from '../options.ts';
import type { PredictJobOptions, PredictJobResult } from '../../experiments/predict-job.ts';
import type { WriteFormat } from '../../metrics/submission/write.ts';

interface PredictFlags extends Partial<SharedOptions> {
  out: string;
  data?: string;
  split?: string;
  labels?: string;
  dataset?: string;
  weights: 'best' | 'last';
  ensembleWeights?: number[];
  tta: 'none' | 'flip';
  thresholds?: string;
  batchSize?: number;
  submission?: string;
  format?: string;
  sampleSubmission?: string;
}

/** `--ensemble-weights 2,1,1`: one positive weight per run. */
function weightList(text: string): number[] {
  const weight = positiveNumber('--ensemble-weights');
  return text.split(',').map((part) => {
    try {
      return weight(part);
    } catch {
      throw new Error(`--ensemble-weights needs positive numbers separated by commas, got '${text}'`);
    }
  });
}

/** The submission formats `--format` takes (the writer's own list; checked when the command runs, so --help loads nothing). */
async function submissionFormat(text: string | undefined): Promise<WriteFormat | undefined> {
  if (text === undefined) return undefined;
  const { writeFormats } = await import('../../metrics/submission/write.ts');
  if (!writeFormats.includes(text as WriteFormat)) throw new Error(`--format must be one of ${writeFormats.join(', ')}, got '${text}'`);
  return text as WriteFormat;
}

function datasetJson(text: string | undefined): PredictJobOptions['dataset'] {
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`--dataset must be JSON like '{"name":"manifest","csv":"test.csv"}': ${(error as Error).message}`);
  }
  if (!value || typeof value !== 'object' || typeof (value as { name?: unknown }).name !== 'string') throw new Error(`--dataset needs an object with a "name", got '${text}'`);
  return value as PredictJobOptions['dataset'];
}

/** Parses the flags and runs the job; prints where everything went. */
export async function predictCommand(runs: string[], flags: PredictFlags): Promise<PredictJobResult> {
  const { runPredictJob } = await import('../../experiments/predict-job.ts');
  const result = await runPredictJob({
    runs,
    out: flags.out,
    data: flags.data,
    split: flags.split,
    labels: flags.labels,
    dataset: datasetJson(flags.dataset),
    weights: flags.weights,
    memberWeights: flags.ensembleWeights,
    tta: flags.tta,
    thresholds: flags.thresholds,
    batchSize: flags.batchSize,
    submission: flags.submission,
    format: await submissionFormat(flags.format),
    sampleSubmission: flags.sampleSubmission,
    backend: flags.backend,
    threads: flags.threads,
    workers: flags.workers,
  });
  const { predictions } = result;
  const lines = [
    `predicted ${predictions.ids.length} ${result.level === 'slice' ? 'slices' : 'patients'} with ${result.members.length} model(s)${result.tta === 'flip' ? ' and flip TTA' : ''}`,
    `predictions: ${result.out}`,
  ];
  if (result.submission) lines.push(`submission: ${result.submission}`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return result;
}

export function registerPredict(program: Command): void {
  const command = program
    .command('predict')
    .description('predict a dataset with trained runs (one, several, or every run below an ablation or cross-validation folder, averaged); writes predictions and a submission')
    .argument('<runs...>', 'run directories, or folders holding finished runs')
    .option('--out <file>', 'predictions CSV (id, patient, decoded columns, label_<class>, true_<column>)', 'predictions.csv')
    .option('--data <dir>', "dataset folder (replaces the runs' data.dataset.root)")
    .option('--split <name>', "the dataset's split, e.g. test for a competition's unlabelled stage_2_test/")
    .option('--labels <file>', 'labels for that split (rsna-ich labelsCsv, e.g. a solution.csv), so the predictions carry targets')
    .option('--dataset <json>', 'any registered dataset instead of the runs\' own, e.g. \'{"name":"manifest","csv":"test.csv"}\'')
    .addOption(new Option('--weights <which>', 'checkpoint: the best epoch (model/) or the last one (checkpoints/)').choices(['best', 'last']).default('best'))
    .option('--ensemble-weights <w,...>', 'one weight per run, in the order printed (default: equal)', weightList)
    .addOption(new Option('--tta <kind>', 'test-time augmentation, averaged').choices(['none', 'flip']).default('none'))
    .option('--thresholds <which>', 'tuned (the run\'s, or the cross-validation folder\'s out-of-fold ones), 0.5, or a thresholds.json: adds label_<class> columns; tags submissions use them')
    .option('--batch-size <n>', "patients per batch (default: the runs' training batch size)", wholeNumber('--batch-size', 1))
    .option('--submission <file>', 'also write a Kaggle submission')
    .option('--format <format>', 'submission format: rsna, long, wide or tags (default: rsna for rsna-ich data, else wide)')
    .option('--sample-submission <file>', "the competition's sample submission: the submission follows its order and must match its ids");
  addSharedOptions(command, {
    backend: { help: "backend (default: the first run's)" },
    threads: {},
    workers: {},
    set: { refuse: "predict uses each run's saved config; --data, --dataset, --split and --labels choose what it predicts" },
    seed: { refuse: 'prediction draws nothing at random (each run keeps the seed it trained with)' },
    resume: { refuse: 'predict starts no run; finish an interrupted run with `sliceseq run <experiment> --resume` first' },
    force: { refuse: 'predict deletes nothing; it overwrites only the --out and --submission files it names' },
    allowChanges: { refuse: 'predict uses each run as it was trained' },
  });
  command.action(async (runs: string[], flags: PredictFlags) => {
      await predictCommand(runs, flags);
    });
}
