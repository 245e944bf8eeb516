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

export function referenceBenchConfig(stacking: StackingMode = 'fold'): ModelConfigInput {
  return {
    backbone: { name: 'small-vgg', channels: [16, 32, 64], convsPerBlock: 1 },
    encoder: { name: 'gru', hidden: 64, bidirectional: false, pooling: 'last' },
    decoder: { name: 'lstm', hidden: 32, bidirectional: true, inputs: 'zeros' },
    stacking,
  };
}

export interface ReferenceBench {
  model: tf.LayersModel;
  schema: LabelSchema;
  /** A synthetic batch: images [4, 16, 64, 64, 3], an all-real mask [4, 16], binary targets [4, 5]. */
  images: tf.Tensor;
  mask: tf.Tensor;
  targets: tf.Tensor;
  /** One training step (forward, sigmoid BCE, backward, optimizer update); returns the loss. */
  trainStep(optimizer: tf.Optimizer): number;
  dispose(): void;
}

/** Builds the reference workload (model + one seeded synthetic batch) exactly as the benchmark runs it. */
export function buildReferenceBenchModel(options: { stacking?: StackingMode; seed?: number } = {}): ReferenceBench {
  const seed = options.seed ?? 0;
  const { batch, slices, height, width, channels } = referenceBenchShape;
  const schema = binarySchema(referenceBenchClasses);
  const model = buildModel(referenceBenchConfig(options.stacking), {
    schema,
    rng: Rng.derive(seed, 'model'),
    inputShape: { slices, height, width, channels },
    level: 'patient',
  });
  const data = Rng.derive(seed, 'data');
  const images = tf.randomNormal([batch, slices, height, width, channels], 0, 1, 'float32', data.seed());
  const mask = tf.ones([batch, slices]);
  const targets = tf.tensor2d(Array.from({ length: batch }, () => referenceBenchClasses.map(() => (data.bernoulli(0.3) ? 1 : 0))));
  const loss = () => tf.losses.sigmoidCrossEntropy(targets, model.apply([images, mask], { training: true }) as tf.Tensor) as tf.Scalar;
  return {
    model,
    schema,
    images,
    mask,
    targets,
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
