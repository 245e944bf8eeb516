import type * as tf from '@tensorflow/tfjs';
import type { BatchSource } from '../../data/loader.ts';
import type { Patient } from '../../data/patients.ts';
import type { DenseOrdinalGroup } from '../../labels/dense-ordinal.ts';
import type { LabelSchema } from '../../labels/schema.ts';
import type { CriterionFn } from '../../losses/criterion.ts';
import type { ScoreBlock } from '../../train/evaluate.ts';
import type { FitParts } from '../../train/trainer.ts';
import type { Experiment } from '../config.ts';

/**
 * What differs between the kinds of run lives in a task, not in branches of the runner (experiments/run.ts):
 * image-level labels (`LabelTask`, labels.ts) and dense per-pixel maps (`DenseMapTask`, dense.ts). The runner
 * asks for the task of an experiment on a dataset (index.ts `taskFor`), then uses the same members in the same
 * order for either: `check` before any data work, `targets` for its loaders and model, `criterion`, `fitHooks` for
 * the training loop, and `finish` for the final scoring and the files only this task writes.
 */
export interface Task {
  /** `labels` or `dense-ordinal`: how logs and errors name the task. */
  readonly name: string;
  /** What the loaders read and the model predicts: a label schema (with slice targets at slice level), or a dense-ordinal group. */
  readonly targets: { labelSchema?: LabelSchema; dense?: DenseOrdinalGroup; sliceTargets: boolean };
  /** Everything the experiment must agree with about this dataset; throws naming the config field. Reads no data. */
  check(): void;
  /** The training loss (validated against the labels as `loss`). */
  criterion(): CriterionFn;
  /** What `fit` needs beyond the common parts: the label schema, or how to read a batch's targets and validate. */
  fitHooks(valLoader: BatchSource, criterion: CriterionFn, interrupt: { readonly urgent: boolean }): Pick<FitParts, 'schema' | 'targetsOf' | 'validate'>;
  /** The best epoch's model scored on validation and test; writes this task's files and returns metrics.json's blocks. */
  finish(context: FinishContext): Promise<RunScores>;
}

/** metrics.json's score blocks: validation, test, and (image-level binary labels) the all-positive baseline on test. */
export interface RunScores {
  val: ScoreBlock;
  test?: ScoreBlock;
  baseline?: ScoreBlock;
}

/** A loader over some patients: `train` shuffles and augments; `everySlice` lifts `data.maxSlices` (final predictions). */
export type LoaderFor = (patients: Patient[], train: boolean, everySlice?: boolean) => BatchSource;

export interface FinishContext {
  model: tf.LayersModel;
  criterion: CriterionFn;
  experiment: Experiment;
  split: { train: Patient[]; val: Patient[]; test: Patient[] };
  loaderFor: LoaderFor;
  /** The validation loader the training loop used (every slice). */
  valLoader: BatchSource;
  runDir: string;
}
