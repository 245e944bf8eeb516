import type * as tf from '@tensorflow/tfjs';
import { existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { storedModelMetadata, type ModelMetadata } from '../models/build.ts';
import { loadModel, modelFileName, saveModel } from '../models/io.ts';
import { runPath } from './layout.ts';

/**
 * A run's `model/`: the best epoch's model (models/io.ts writes its inside). It is written into `.model-staging/`
 * first and renamed into place, so a failure while writing leaves the model a finished run had, or none.
 */
export async function writeRunModel(runDir: string, model: tf.LayersModel): Promise<void> {
  const modelDir = runPath(runDir, 'model');
  const stagingDir = runPath(runDir, 'modelStaging');
  rmSync(stagingDir, { recursive: true, force: true });
  await saveModel(model, stagingDir);
  rmSync(modelDir, { recursive: true, force: true });
  renameSync(stagingDir, modelDir);
}

/** Whether the run has a model to load (a finished run has; an interrupted or failed one has not). */
export function hasRunModel(runDir: string): boolean {
  return existsSync(join(runPath(runDir, 'model'), modelFileName));
}

/** The model `writeRunModel` wrote. */
export function readRunModel(runDir: string): Promise<tf.LayersModel> {
  return loadModel(runPath(runDir, 'model'));
}

/** The sliceseq metadata of the model `writeRunModel` wrote (config, label schema, input shape), without its weights. */
export function readRunModelMetadata(runDir: string): ModelMetadata {
  return storedModelMetadata(runPath(runDir, 'model'));
}
