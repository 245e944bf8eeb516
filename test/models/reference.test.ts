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

test('the short-series and class-query workloads: padded patients of 2–5 slices at 32×32; the query decoder', () => {
  const short = buildReferenceBenchModel({ workload: 'short-series' });
  expect(short.images.shape).toEqual([4, 5, 32, 32, 3]);
  expect(short.mask.arraySync()).toEqual([
    [1, 1, 0, 0, 0],
    [1, 1, 1, 0, 0],
    [1, 1, 1, 1, 0],
    [1, 1, 1, 1, 1],
  ]);
  expect(short.realSlices).toBe(14);
  const optimizer = tf.train.adam(1e-3);
  expect(Number.isFinite(short.trainStep(optimizer))).toBe(true);
  const query = buildReferenceBenchModel({ workload: 'class-query' });
  expect(query.model.layers.some((layer) => layer.getClassName() === 'SliceseqClassQueryDecoder')).toBe(true);
  const queryOptimizer = tf.train.adam(1e-3);
  expect(Number.isFinite(query.trainStep(queryOptimizer))).toBe(true);
  optimizer.dispose();
  queryOptimizer.dispose();
  short.dispose();
  query.dispose();
});
