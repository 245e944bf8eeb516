import type { Dataset } from '../../data/datasets/types.ts';
import type { Experiment } from '../config.ts';
import { DenseMapTask } from './dense.ts';
import { LabelTask } from './labels.ts';
import type { Task } from './task.ts';

export type { FinishContext, LoaderFor, RunScores, Task } from './task.ts';
export { DenseMapTask, LabelTask };

/** The task a dataset trains: dense maps when it has mask files, image-level labels otherwise. */
export function taskFor(experiment: Experiment, dataset: Dataset): Task {
  if ((!dataset.labelSchema && !dataset.dense) || !dataset.labelled) throw new Error(`data.dataset: ${dataset.source} has no labels to train on`);
  return dataset.dense ? new DenseMapTask(experiment, dataset, dataset.dense) : new LabelTask(experiment, dataset, dataset.labelSchema!);
}
