import { Option, type Command } from 'commander';
import { runPredictJob, type PredictJobOptions, type PredictJobResult } from '../../experiments/predict-job.ts';
import { writeFormats, type WriteFormat } from '../../metrics/submission/write.ts';

interface PredictFlags {
  out: string;
  data?: string;
  split?: string;
  labels?: string;
  dataset?: string;
  weights: 'best' | 'last';
  ensembleWeights?: string;
  tta: 'none' | 'flip';
  thresholds?: string;
  batchSize?: string;
  submission?: string;
  format?: WriteFormat;
  sampleSubmission?: string;
}

function positiveInteger(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${flag} must be a positive integer, got '${text}'`);
  return value;
}

function weightList(text: string | undefined): number[] | undefined {
  if (text === undefined) return undefined;
  return text.split(',').map((part) => {
    const value = Number(part);
    if (part.trim() === '' || !(value > 0)) throw new Error(`--ensemble-weights needs positive numbers separated by commas, got '${text}'`);
    return value;
  });
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
  const result = await runPredictJob({
    runs,
    out: flags.out,
    data: flags.data,
    split: flags.split,
    labels: flags.labels,
    dataset: datasetJson(flags.dataset),
    weights: flags.weights,
    memberWeights: weightList(flags.ensembleWeights),
    tta: flags.tta,
    thresholds: flags.thresholds,
    batchSize: positiveInteger(flags.batchSize, '--batch-size'),
    submission: flags.submission,
    format: flags.format,
    sampleSubmission: flags.sampleSubmission,
  });
  const { predictions } = result;
  const lines = [
    `predicted ${predictions.ids.length} ${predictions.level === 'slice' ? 'slices' : 'patients'} with ${result.members.length} model(s)${predictions.tta === 'flip' ? ' and flip TTA' : ''}`,
    `predictions: ${result.out}`,
  ];
  if (result.submission) lines.push(`submission: ${result.submission}`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return result;
}

export function registerPredict(program: Command): void {
  program
    .command('predict')
    .description('predict a dataset with trained runs (one, several, or every run below an ablation or cross-validation folder, averaged); writes predictions and a submission')
    .argument('<runs...>', 'run directories, or folders holding finished runs')
    .option('--out <file>', 'predictions CSV (id, patient, decoded columns, label_<class>, true_<column>)', 'predictions.csv')
    .option('--data <dir>', "dataset folder (replaces the runs' data.dataset.root)")
    .option('--split <name>', "the dataset's split, e.g. test for a competition's unlabelled stage_2_test/")
    .option('--labels <file>', 'labels for that split (rsna-ich labelsCsv, e.g. a solution.csv), so the predictions carry targets')
    .option('--dataset <json>', 'any registered dataset instead of the runs\' own, e.g. \'{"name":"manifest","csv":"test.csv"}\'')
    .addOption(new Option('--weights <which>', 'checkpoint: the best epoch (model/) or the last one (checkpoints/)').choices(['best', 'last']).default('best'))
    .option('--ensemble-weights <w,...>', 'one weight per run, in the order printed (default: equal)')
    .addOption(new Option('--tta <kind>', 'test-time augmentation, averaged').choices(['none', 'flip']).default('none'))
    .option('--thresholds <which>', 'tuned (the run\'s, or the cross-validation folder\'s out-of-fold ones), 0.5, or a thresholds.json: adds label_<class> columns; tags submissions use them')
    .option('--batch-size <n>', "patients per batch (default: the runs' training batch size)")
    .option('--submission <file>', 'also write a Kaggle submission')
    .addOption(new Option('--format <format>', 'submission format (default: rsna for rsna-ich data, else wide)').choices([...writeFormats]))
    .option('--sample-submission <file>', "the competition's sample submission: the submission follows its order and must match its ids")
    .action(async (runs: string[], flags: PredictFlags) => {
      await predictCommand(runs, flags);
    });
}
