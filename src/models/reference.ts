import * as tf from '@tensorflow/tfjs';
import { Rng } from '../core/rng.ts';
import { binarySchema, type LabelSchema } from '../labels/schema.ts';
import { buildModel, type ModelConfigInput } from './build.ts';
import type { StackingMode } from './stack.ts';

/**
 * The reference training workload the benchmark times: a per-slice CNN (three conv blocks of 16/32/64 channels,
 * one 3×3 conv each, global average pooled) over 16 slices of 64×64×3 → GRU(64) over the slices → bidirectional
 * LSTM label decoder (32) → 5 binary classes; batch 4.
 */
export const referenceBenchShape = { batch: 4, slices: 16, height: 64, width: 64, channels: 3 } as const;
export const referenceBenchClasses = ['epidural', 'intraparenchymal', 'intraventricular', 'subarachnoid', 'subdural'];

/**
 * The benchmark's workloads: `reference` (above, every slice real); `short-series`, the same design on short
 * series (4 patients of 2, 3, 4 and 5 slices at 32×32, padded to 5); `class-query`, the reference with the
 * class-query attention decoder in place of the LSTM decoder.
 */
interface BenchWorkload {
  shape: { batch: number; slices: number; height: number; width: number; channels: number };
  /** Real slices of each patient (the first ones; the rest is padding). */
  lengths: readonly number[];
  decoder: 'lstm' | 'query';
}

export const referenceBenchWorkloads = {
  reference: { shape: referenceBenchShape, lengths: [16, 16, 16, 16], decoder: 'lstm' },
  'short-series': { shape: { batch: 4, slices: 5, height: 32, width: 32, channels: 3 }, lengths: [2, 3, 4, 5], decoder: 'lstm' },
  'class-query': { shape: referenceBenchShape, lengths: [16, 16, 16, 16], decoder: 'query' },
} as const satisfies Record<string, BenchWorkload>;
export type ReferenceBenchWorkload = keyof typeof referenceBenchWorkloads;

export function referenceBenchConfig(stacking: StackingMode = 'fold', decoder: 'lstm' | 'query' = 'lstm'): ModelConfigInput {
  return {
    backbone: { name: 'small-vgg', channels: [16, 32, 64], convsPerBlock: 1 },
    encoder: { name: 'gru', hidden: 64, bidirectional: false, pooling: 'last' },
    decoder: decoder === 'lstm' ? { name: 'lstm', hidden: 32, bidirectional: true, inputs: 'zeros' } : { name: 'query' },
    stacking,
  };
}

export interface ReferenceBench {
  model: tf.LayersModel;
  schema: LabelSchema;
  /** A synthetic batch: images [4, 16, 64, 64, 3], an all-real mask [4, 16], binary targets [4, 5] (reference). */
  images: tf.Tensor;
  mask: tf.Tensor;
  targets: tf.Tensor;
  /** Real slices in the batch (what slices/s counts). */
  realSlices: number;
  /** One training step (forward, sigmoid BCE, backward, optimizer update); returns the loss. */
  trainStep(optimizer: tf.Optimizer): number;
  dispose(): void;
}

/** Builds the reference workload (model + one seeded synthetic batch) exactly as the benchmark runs it. */
export function buildReferenceBenchModel(options: { stacking?: StackingMode; seed?: number; workload?: ReferenceBenchWorkload } = {}): ReferenceBench {
  const seed = options.seed ?? 0;
  const workload: BenchWorkload = referenceBenchWorkloads[options.workload ?? 'reference'];
  const { batch, slices, height, width, channels } = workload.shape;
  const schema = binarySchema(referenceBenchClasses);
  const model = buildModel(referenceBenchConfig(options.stacking, workload.decoder), {
    schema,
    rng: Rng.derive(seed, 'model'),
    inputShape: { slices, height, width, channels },
    level: 'patient',
  });
  const data = Rng.derive(seed, 'data');
  const images = tf.randomNormal([batch, slices, height, width, channels], 0, 1, 'float32', data.seed());
  const mask = tf.tensor2d(workload.lengths.flatMap((length) => Array.from({ length: slices }, (_, t) => (t < length ? 1 : 0))), [batch, slices]);
  const targets = tf.tensor2d(Array.from({ length: batch }, () => referenceBenchClasses.map(() => (data.bernoulli(0.3) ? 1 : 0))));
  const loss = () => tf.losses.sigmoidCrossEntropy(targets, model.apply([images, mask], { training: true }) as tf.Tensor) as tf.Scalar;
  return {
    model,
    schema,
    images,
    mask,
    targets,
    realSlices: workload.lengths.reduce((a, b) => a + b, 0),
    trainStep: (optimizer) => {
      const value = optimizer.minimize(loss, true)!;
      const result = value.dataSync()[0];
      value.dispose();
      return result;
    },
    dispose: () => {
      tf.dispose([images, mask, targets]);
      model.dispose();
    },
  };
}
