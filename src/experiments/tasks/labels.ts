import type * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../../data/datasets/types.ts';
import { binaryClassNames, type LabelSchema } from '../../labels/schema.ts';
import { buildCriterion, type Criterion } from '../../losses/criterion.ts';
import { queryDecoders } from '../../models/attention-maps.ts';
import { constantAnswers } from '../../metrics/baselines.ts';
import type { ThresholdSet } from '../../metrics/thresholds.ts';
import { classificationReport, writeClassificationReport } from '../../report/classification-report.ts';
import { writeAttention } from '../../runs/attention.ts';
import { runPath } from '../../runs/layout.ts';
import type { PredictionTable } from '../../metrics/prediction-table.ts';
import { writePredictions } from '../../runs/predictions.ts';
import { writeRunThresholds } from '../../runs/run-dir.ts';
import { baselineScores, checkMonitor, predict, scorePredictions, tuneThresholds, type ScoreBlock } from '../../train/evaluate.ts';
import type { FitParts } from '../../train/trainer.ts';
import { ATTENTION_PATIENTS, collectClassAttention, pickAttentionPatients } from '../class-attention.ts';
import type { Experiment } from '../config.ts';
import type { FinishContext, RunScores, Task } from './task.ts';

/**
 * Image-level labels (binary, categorical and ordinal groups of a label schema), per patient or per slice. After
 * training: thresholds tuned on validation predictions only, then applied to test; both splits scored over every
 * slice of every patient; predictions-oof.csv, predictions-test.csv, thresholds.json, the classification report
 * and (query decoders) attention.json written.
 */
export class LabelTask implements Task {
  readonly name = 'labels';
  readonly targets: Task['targets'];

  constructor(
    private readonly experiment: Experiment,
    private readonly dataset: Dataset,
    private readonly schema: LabelSchema,
  ) {
    this.targets = { labelSchema: schema, sliceTargets: experiment.data.level === 'slice' };
  }

  check(): void {
    const { experiment, dataset } = this;
    if (experiment.model.dense) throw new Error('model.dense: a dense model needs mask files in the dataset (the manifest\'s masks option)');
    if (experiment.data.level === 'slice' && !dataset.sliceLabelled) throw new Error(`data.level: 'slice' needs slice labels, which ${dataset.source} does not have`);
    checkMonitor(this.schema, experiment.train.monitor, 'train.monitor');
  }

  criterion(): Criterion {
    return buildCriterion(this.schema, this.experiment.loss, 'loss');
  }

  /** The trainer's own validation: predict + scorePredictions with the schema (a second Ctrl-C cuts it short). */
  fitHooks(): Pick<FitParts, 'schema'> {
    return { schema: this.schema };
  }

  async finish(context: FinishContext): Promise<RunScores> {
    const { model, criterion, experiment, split, loaderFor, runDir } = context;
    const schema = this.schema;
    const level = experiment.data.level;
    const zeroDivision = experiment.evaluation.zeroDivision;
    const valPredictions = await predict(model, context.valLoader, schema, { level, criterion });
    const thresholds = tuneThresholds(schema, valPredictions, { kind: experiment.evaluation.thresholds, zeroDivision, source: 'validation' });
    const metrics: RunScores = { val: { ...scorePredictions(schema, valPredictions, { zeroDivision, thresholds }), ...constantAnswersOf(schema, valPredictions, thresholds, zeroDivision) } };
    writePredictions(runDir, 'validation', valPredictions);
    if (split.test.length > 0) {
      const testPredictions = await predict(model, loaderFor(split.test, false, true), schema, { level, criterion });
      const testBaselines = constantAnswersOf(schema, testPredictions, thresholds, zeroDivision);
      metrics.test = { ...scorePredictions(schema, testPredictions, { zeroDivision, thresholds }), ...testBaselines };
      if (binaryClassNames(schema).length > 0) {
        const binary = testPredictions.binary();
        // `baseline`: the all-positive answer's full score block on test; every block also carries both constant answers' F2.
        metrics.baseline = baselineScores(schema, testPredictions, zeroDivision);
        const report = classificationReport(binary.scores, binary.targets(), { classes: [...binary.columns], thresholds, zeroDivision });
        writeClassificationReport(report, runPath(runDir, 'classificationReport'));
      }
      writePredictions(runDir, 'test', testPredictions);
      await writeClassAttention(model, context);
    }
    if (thresholds) writeRunThresholds(runDir, thresholds);
    return metrics;
  }
}

/** Query decoders: what each class looked at, for a few test patients (the report draws it beside their slices). */
async function writeClassAttention(model: tf.LayersModel, context: FinishContext): Promise<void> {
  if (queryDecoders(model).length === 0) return;
  const { experiment, split, loaderFor, runDir } = context;
  const chosen = pickAttentionPatients(split.test, ATTENTION_PATIENTS, { maxSlices: experiment.data.maxSlices, sliceLimit: experiment.data.sliceLimit });
  writeAttention(runDir, await collectClassAttention(model, loaderFor(chosen.patients, false), chosen.positions, 'test'));
}

/** Beside a split's F2 (baselines.ts `constantAnswers`), for the binary labels of a schema that has them. */
function constantAnswersOf(schema: LabelSchema, predictions: PredictionTable, thresholds: ThresholdSet | undefined, zeroDivision: 0 | 1): ScoreBlock {
  if (binaryClassNames(schema).length === 0) return {};
  return constantAnswers(predictions.binary().scoresAndTargets(), thresholds?.thresholds, zeroDivision);
}
