import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import { parseLabelSchema, type LabelSchema } from '../../src/labels/schema.ts';
import { loadModel, saveModel } from '../../src/models/io.ts';

/** Checks shared by the model tests: every assertion here can fail on a broken model. */

/** One group of each kind (ordinal in both modes), with noFinding. */
export const mixedSchema: LabelSchema = parseLabelSchema({
  groups: [
    { kind: 'binary', name: 'bleed', classes: ['epidural', 'subdural', 'subarachnoid'] },
    { kind: 'categorical', name: 'liver', classes: ['healthy', 'low', 'high'], neck: 8 },
    { kind: 'ordinal', name: 'damage', classes: ['kidney', 'spleen'], levels: 3 },
    { kind: 'ordinal', name: 'injury', classes: ['bowel'], levels: 4, mode: 'cumulative' },
  ],
  noFinding: 'no_bleed',
});

/** A padded batch: patient p has `lengths[p]` real slices; padded slices hold large garbage, not zeros. */
export function paddedBatch(rng: Rng, lengths: number[], slices: number, perSlice: number[]): { inputs: tf.Tensor; mask: tf.Tensor } {
  const size = perSlice.reduce((a, b) => a * b, 1);
  const values = new Float32Array(lengths.length * slices * size);
  const mask = new Float32Array(lengths.length * slices);
  lengths.forEach((length, p) => {
    for (let s = 0; s < slices; s++) {
      mask[p * slices + s] = s < length ? 1 : 0;
      for (let i = 0; i < size; i++) values[(p * slices + s) * size + i] = s < length ? rng.normal() : 50 + 100 * rng.float();
    }
  });
  return { inputs: tf.tensor(values, [lengths.length, slices, ...perSlice]), mask: tf.tensor2d(mask, [lengths.length, slices]) };
}

export function expectFinite(tensor: tf.Tensor, what: string): void {
  const values = tensor.dataSync();
  const bad = values.findIndex((v) => !Number.isFinite(v));
  expect(bad, `${what}: value ${bad} is ${values[bad]}`).toBe(-1);
}

/** Names of the model's trainable variables whose gradient of sum(logits²) is exactly zero (or missing). */
export function variablesWithoutGradient(model: tf.LayersModel, inputs: tf.Tensor[]): string[] {
  const variables = model.trainableWeights.map((weight) => weight.read() as tf.Variable);
  const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(model.apply(inputs, { training: true }) as tf.Tensor)) as tf.Scalar, variables);
  const dead = model.trainableWeights
    .filter((_, i) => {
      const grad = grads[variables[i].name];
      return !grad || tf.tidy(() => tf.max(tf.abs(grad)).dataSync()[0]) === 0;
    })
    .map((weight) => weight.originalName);
  tf.dispose([value, ...Object.values(grads)]);
  return dead;
}

/** Predicts, then asserts a second predict plus a gradient computation leaves no tensor behind. */
export function expectNoTensorLeak(model: tf.LayersModel, inputs: tf.Tensor[]): void {
  tf.dispose(model.predict(inputs));
  const before = tf.memory().numTensors;
  tf.dispose(model.predict(inputs));
  variablesWithoutGradient(model, inputs);
  expect(tf.memory().numTensors).toBe(before);
}

export function withTempDir<T>(run: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'sliceseq-models-'));
  return run(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

/** Saves and reloads the model; the reloaded one must predict exactly the same values. */
export async function expectRoundTrip(model: tf.LayersModel, inputs: tf.Tensor[]): Promise<tf.LayersModel> {
  return withTempDir(async (dir) => {
    await saveModel(model, dir);
    const loaded = await loadModel(dir);
    const [expected, actual] = [model, loaded].map((m) => m.predict(inputs) as tf.Tensor);
    expect(actual.shape).toEqual(expected.shape);
    expect(Array.from(actual.dataSync())).toEqual(Array.from(expected.dataSync()));
    tf.dispose([expected, actual]);
    return loaded;
  });
}
