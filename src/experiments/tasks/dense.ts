import type * as tf from '@tensorflow/tfjs';
import type { Batch, BatchSource } from '../../data/loader.ts';
import type { Dataset } from '../../data/datasets/types.ts';
import type { DenseOrdinalGroup } from '../../labels/dense-ordinal.ts';
import type { CriterionFn } from '../../losses/criterion.ts';
import { buildDenseCriterion } from '../../losses/dense-criterion.ts';
import { metricKeys } from '../../metrics/scores.ts';
import { writeDenseExamples } from '../../runs/dense-examples.ts';
import { writeDenseThresholds, type DenseThresholdsFile } from '../../runs/dense-thresholds.ts';
import { defaultDenseThresholds, evaluateDense, scoreDense, seenCombinations, tuneDenseThresholds } from '../../train/dense-evaluate.ts';
import type { Monitor } from '../../train/evaluate.ts';
import type { FitParts } from '../../train/trainer.ts';
import type { Experiment } from '../config.ts';
import type { FinishContext, RunScores, Task } from './task.ts';

/** Validation slices whose maps go to dense-examples.json. */
const EXAMPLES = 4;

/** What `train.monitor` can read from a dense score block. */
const DENSE_MONITORS: readonly Monitor[] = [metricKeys.qwk.monitor, metricKeys.loss.monitor, 'last'];

/**
 * Dense-ordinal maps: a grade per pixel for each type of one group (labels/dense-ordinal.ts). Validation after each
 * epoch scores the maps; after training, thresholds are fixed or tuned on validation, validation and test are
 * scored with them, pixels of grade combinations the training maps never show are scored apart, and
 * dense-thresholds.json and dense-examples.json (a few validation maps for the report) are written.
 */
export class DenseMapTask implements Task {
  readonly name = 'dense-ordinal';
  readonly targets: Task['targets'];

  constructor(
    private readonly experiment: Experiment,
    private readonly dataset: Dataset,
    private readonly group: DenseOrdinalGroup,
  ) {
    this.targets = { dense: group, sliceTargets: false };
  }

  /**
   * A dense model, images (not embeddings) decoded afresh (no decoded-slice cache), no image-level labels beside the
   * maps, and a test set the dataset itself or a fraction holds out (not another dataset).
   */
  check(): void {
    const { experiment, dataset, group } = this;
    if (dataset.labelSchema) throw new Error(`data.dataset: ${dataset.source} has both mask files and label columns; a run trains dense maps or image-level labels, not both`);
    if (experiment.data.embeddings) throw new Error('data.embeddings: dense maps are trained on images, not on cached slice embeddings');
    if (experiment.data.cacheDir) throw new Error('data.cacheDir: the decoded-slice cache does not hold mask files; leave it out for a dataset with masks');
    if (!experiment.model.dense) throw new Error(`model.dense: the dataset has dense-ordinal maps (group '${group.name}'); name a dense model, e.g. { name: 'unet' }`);
    if (typeof experiment.split.test !== 'number') throw new Error('split.test: a dense-ordinal run holds out test patients by a fraction or the manifest\'s split column, not another dataset');
    const monitor = experiment.train.monitor;
    if (!DENSE_MONITORS.includes(monitor)) throw new Error(`train.monitor: '${monitor}' does not apply to dense-ordinal maps; use ${DENSE_MONITORS.slice(0, -1).join(', ')} or ${DENSE_MONITORS.at(-1)}`);
  }

  criterion(): CriterionFn {
    return buildDenseCriterion(this.group, this.experiment.loss, 'loss');
  }

  /** Targets are the batch's maps; validation scores them (a second Ctrl-C cuts it short). */
  fitHooks(valLoader: BatchSource, criterion: CriterionFn, interrupt: { readonly urgent: boolean }): Pick<FitParts, 'targetsOf' | 'validate'> {
    const group = this.group;
    return {
      targetsOf: (batch: Batch<tf.Tensor>) => batch.maps,
      validate: async (model) => {
        const evaluation = await evaluateDense(model, valLoader, group, { criterion, stop: () => interrupt.urgent });
        return { block: scoreDense(group, evaluation), loss: evaluation.loss };
      },
    };
  }

  async finish(context: FinishContext): Promise<RunScores> {
    const { model, criterion, split, loaderFor, valLoader, runDir } = context;
    const group = this.group;
    // The training split without augmentation or shuffling: where the seen combinations come from.
    const seen = await seenCombinations(loaderFor(split.train, false), group);
    let val = await evaluateDense(model, valLoader, group, { criterion, seen, examples: EXAMPLES });
    let thresholds = defaultDenseThresholds(group);
    const tuned = this.experiment.evaluation.denseThresholds === 'tuned' ? tuneDenseThresholds(group, val) : undefined;
    if (tuned) {
      thresholds = tuned.thresholds;
      val = await evaluateDense(model, valLoader, group, { criterion, seen, examples: EXAMPLES, thresholds });
    }
    const record: DenseThresholdsFile = {
      kind: 'dense-ordinal',
      group: group.name,
      mode: group.mode,
      source: tuned ? 'tuned on validation predictions to maximise QWK per type' : group.mode === 'regression' ? 'fixed (the group\'s thresholds)' : `not used: ${group.mode} outputs are graded by their own rule`,
      thresholds: Object.fromEntries(group.classes.map((type, t) => [type, thresholds[t]])),
      training_combinations: seen.size,
    };
    writeDenseThresholds(runDir, record);
    writeDenseExamples(runDir, { group, thresholds: record.thresholds, examples: val.examples });
    const result: RunScores = { val: { ...scoreDense(group, val), thresholds: record.thresholds } };
    if (split.test.length > 0) {
      const test = await evaluateDense(model, loaderFor(split.test, false, true), group, { criterion, seen, thresholds });
      result.test = { ...scoreDense(group, test), thresholds: record.thresholds };
    }
    return result;
  }
}
