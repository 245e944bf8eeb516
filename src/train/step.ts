import * as tf from '@tensorflow/tfjs';
import { fusedGlobalNorm } from '../backend/global-norm.ts';
import { fusedActive } from '../backend/tf-ops.ts';
import type { CriterionFn } from '../losses/criterion.ts';
import type { TrainingOptimizer } from './optimizers.ts';

/** What one optimisation step needs from a batch. */
export interface StepInputs {
  images: tf.Tensor;
  mask: tf.Tensor2D;
  /** [b, width] for patient-level labels, [b, s, width] for slice-level (where the mask also weighs the loss). */
  targets: tf.Tensor;
}

export interface StepResult {
  loss: number;
  perGroup: Record<string, number>;
  gradientNorm: number;
  /** False when the loss or a gradient was NaN/Inf: nothing was applied. */
  finite: boolean;
}

/** Global L2 norm of all gradients (one kernel on the native backend: backend/global-norm.ts). */
function globalNorm(grads: tf.Tensor[]): tf.Scalar {
  if (fusedActive() && grads.length > 0) return fusedGlobalNorm(grads);
  return tf.tidy(() => tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g))))) as tf.Scalar);
}

const backboneNames = new WeakMap<tf.LayersModel, Set<string>>();

/** Names of the variables inside the model's `backbone` layer (none for a model on slice embeddings). */
function backboneVariables(model: tf.LayersModel): Set<string> {
  let names = backboneNames.get(model);
  if (!names) {
    const backbone = model.layers.find((layer) => layer.name === 'backbone');
    names = new Set((backbone?.weights ?? []).map((w) => (w as unknown as { val: tf.Variable }).val.name));
    backboneNames.set(model, names);
  }
  return names;
}

/**
 * One step: loss and gradients, a NaN/Inf guard (a non-finite step changes no weight), optional clipping of the
 * global gradient norm, the optimizer update, then decoupled weight decay (w ← w − lr·wd·w).
 */
export function trainStep(
  model: tf.LayersModel,
  criterion: CriterionFn,
  optimizer: TrainingOptimizer,
  batch: StepInputs,
  options: { gradientClip?: number; learningRate: number },
): StepResult {
  const variables = model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
  let perGroupTensors: Record<string, tf.Scalar> = {};
  const { value, grads } = tf.variableGrads(() => {
    const logits = model.apply([batch.images, batch.mask], { training: true }) as tf.Tensor;
    // Per-slice outputs ([b, s, width] rows or [b, s, H, W, width] maps) are weighed by the slice mask.
    const result = criterion(logits, batch.targets, logits.rank >= 3 ? batch.mask : undefined);
    // The per-group scalars would be freed with the closure's scope: keep them for logging.
    perGroupTensors = Object.fromEntries(Object.entries(result.perGroup).map(([k, v]) => [k, tf.keep(v)]));
    return result.total;
  }, variables);
  const gradList = variables.map((v) => grads[v.name]);
  try {
    const normTensor = globalNorm(gradList);
    const [loss, gradientNorm] = [value.dataSync()[0], normTensor.dataSync()[0]];
    normTensor.dispose();
    const perGroup = Object.fromEntries(Object.entries(perGroupTensors).map(([k, v]) => [k, v.dataSync()[0]]));
    const finite = Number.isFinite(loss) && Number.isFinite(gradientNorm);
    if (!finite) return { loss, perGroup, gradientNorm, finite };
    const scale = options.gradientClip && gradientNorm > options.gradientClip ? options.gradientClip / gradientNorm : 1;
    const multiplier = optimizer.backboneLrMultiplier;
    const inBackbone = backboneVariables(model);
    tf.tidy(() => {
      const named = variables.map((v, i) => ({ name: v.name, tensor: scale === 1 ? gradList[i] : tf.mul(gradList[i], scale) }));
      // The backbone's group: its step (new − old) scaled by the multiplier, as a lower rate would give it.
      const grouped = multiplier === 1 ? [] : variables.filter((v) => inBackbone.has(v.name));
      const before = grouped.map((v) => v.clone());
      optimizer.optimizer.applyGradients(named);
      grouped.forEach((v, i) => v.assign(tf.add(before[i], tf.mul(tf.sub(v, before[i]), multiplier))));
      if (optimizer.weightDecay > 0) {
        for (const v of variables) v.assign(tf.mul(v, 1 - options.learningRate * (inBackbone.has(v.name) ? multiplier : 1) * optimizer.weightDecay));
      }
    });
    return { loss, perGroup, gradientNorm, finite };
  } finally {
    value.dispose();
    tf.dispose(gradList);
    tf.dispose(Object.values(perGroupTensors));
  }
}
