import type * as tf from '@tensorflow/tfjs';
import type { BatchSource } from '../data/loader.ts';
import type { DenseOrdinalGroup } from '../labels/dense-ordinal.ts';
import type { CriterionFn } from '../losses/criterion.ts';
import { defaultDenseThresholds, evaluateDense, scoreDense, seenCombinations, tuneDenseThresholds, type DenseEvaluation } from '../train/dense-evaluate.ts';
import type { Monitor, ScoreBlock } from '../train/evaluate.ts';
import type { Validation } from '../train/trainer.ts';
import { writeDenseExamples } from '../runs/dense-examples.ts';
import { writeDenseThresholds, type DenseThresholdsFile } from '../runs/dense-thresholds.ts';
import { metricKeys } from '../metrics/scores.ts';

/**
 * The parts of a run that differ for dense-ordinal maps: validation after each epoch, and the final evaluation
 * (thresholds fixed or tuned on validation, validation and test scored with them, pixels of combinations the
 * training maps never show scored apart, a few validation maps kept for the report).
 */

/** What `train.monitor` can read from a dense score block. */
export function checkDenseMonitor(monitor: Monitor, where: string): void {
  const choices: readonly Monitor[] = [metricKeys.qwk.monitor, metricKeys.loss.monitor, 'last'];
  if (!choices.includes(monitor)) throw new Error(`${where}: '${monitor}' does not apply to dense-ordinal maps; use ${choices.slice(0, -1).join(', ')} or ${choices.at(-1)}`);
}

export function denseValidation(group: DenseOrdinalGroup, valLoader: BatchSource, criterion: CriterionFn): (model: tf.LayersModel) => Promise<Validation> {
  return async (model) => {
    const evaluation = await evaluateDense(model, valLoader, group, { criterion });
    return { block: scoreDense(group, evaluation), loss: evaluation.loss };
  };
}

export interface DenseFinishParts {
  model: tf.LayersModel;
  group: DenseOrdinalGroup;
  criterion: CriterionFn;
  /** The training split without augmentation or shuffling: where the seen combinations come from. */
  trainLoader: BatchSource;
  valLoader: BatchSource;
  testLoader?: BatchSource;
  thresholds: 'fixed' | 'tuned';
  runDir: string;
  /** Validation slices whose maps go to dense-examples.json. */
  examples?: number;
}

/** Scores the best model, writes dense-thresholds.json and dense-examples.json, and returns metrics.json's blocks. */
export async function finishDenseRun(parts: DenseFinishParts): Promise<{ val: ScoreBlock; test?: ScoreBlock }> {
  const { model, group, criterion } = parts;
  const seen = await seenCombinations(parts.trainLoader, group);
  const examples = parts.examples ?? 4;
  let val: DenseEvaluation = await evaluateDense(model, parts.valLoader, group, { criterion, seen, examples });
  let thresholds = defaultDenseThresholds(group);
  const tuned = parts.thresholds === 'tuned' ? tuneDenseThresholds(group, val) : undefined;
  if (tuned) {
    thresholds = tuned.thresholds;
    val = await evaluateDense(model, parts.valLoader, group, { criterion, seen, examples, thresholds });
  }
  const record: DenseThresholdsFile = {
    kind: 'dense-ordinal',
    group: group.name,
    mode: group.mode,
    source: tuned ? 'tuned on validation predictions to maximise QWK per type' : group.mode === 'regression' ? 'fixed (the group\'s thresholds)' : `not used: ${group.mode} outputs are graded by their own rule`,
    thresholds: Object.fromEntries(group.classes.map((type, t) => [type, thresholds[t]])),
    training_combinations: seen.size,
  };
  writeDenseThresholds(parts.runDir, record);
  writeDenseExamples(parts.runDir, { group, thresholds: record.thresholds, examples: val.examples });
  const result: { val: ScoreBlock; test?: ScoreBlock } = { val: { ...scoreDense(group, val), thresholds: record.thresholds } };
  if (parts.testLoader) {
    const test = await evaluateDense(model, parts.testLoader, group, { criterion, seen, thresholds });
    result.test = { ...scoreDense(group, test), thresholds: record.thresholds };
  }
  return result;
}
