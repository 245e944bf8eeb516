import type * as tfType from '@tensorflow/tfjs';
import { beforeAll, expect, test } from 'vitest';
import { buildReferenceBenchModel, referenceBenchShape } from '../../src/models/reference.ts';
import { useBackend } from '../helpers/backend.ts';

let tf: typeof tfType;
beforeAll(async () => {
  tf = await useBackend();
});

test('the reference benchmark workload: shapes, the same weights in both stacking modes, a finite training step', () => {
  const [folded, stepped] = (['fold', 'timeDistributed'] as const).map((stacking) => buildReferenceBenchModel({ stacking }));
  const { batch, slices, height, width, channels } = referenceBenchShape;
  expect(folded.images.shape).toEqual([batch, slices, height, width, channels]);
  expect(folded.model.inputs.map((input) => input.shape)).toEqual([[null, slices, height, width, channels], [null, slices]]);
  expect(folded.model.outputs[0].shape).toEqual([null, 5]);
  expect(folded.model.countParams()).toBe(stepped.model.countParams());
  const weights = (model: tfType.LayersModel) => model.getWeights().map((w) => Array.from(w.dataSync()));
  expect(weights(stepped.model)).toEqual(weights(folded.model));

  const optimizer = tf.train.adam(1e-3);
  const first = folded.trainStep(optimizer);
  expect(Number.isFinite(first)).toBe(true);
  expect(folded.trainStep(optimizer)).toBeLessThan(first);
  optimizer.dispose();
  folded.dispose();
  stepped.dispose();
});
