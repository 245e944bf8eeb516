import * as tf from '@tensorflow/tfjs';
import { InterruptedError, yieldToSignals } from '../core/interrupt.ts';
import type { Batch, BatchSource } from '../data/loader.ts';

/** One batch after the model: its outputs and targets read to the host, and the batch's mean loss when asked for. */
export interface InferredBatch {
  batch: Batch<tf.Tensor>;
  /** The model's outputs (logits, or maps), in the model's output layout. */
  outputs: Float32Array;
  /** The batch's targets as `targetsOf` picks them; absent when it has none. */
  targets?: Float32Array;
  /** The criterion over this batch (the task says how it weighs batches). */
  loss?: number;
}

export interface InferenceOptions {
  /** Which tensor of a batch the outputs are scored against (image-level targets, slice targets, or maps). */
  targetsOf: (batch: Batch<tf.Tensor>) => tf.Tensor | undefined;
  /** The batch's loss from the outputs (run inside the same tf.tidy as the model); left out: no loss. */
  lossOf?: (outputs: tf.Tensor, targets: tf.Tensor, batch: Batch<tf.Tensor>) => tf.Tensor;
  /** Checked after every batch: true throws InterruptedError (a second Ctrl-C during validation). */
  stop?: () => boolean;
}

/**
 * The one inference loop: every batch of `loader` (epoch 0, no augmentation) through the model in inference mode,
 * outputs and targets read to the host and handed to `each`; the tensors of a batch are gone before the next one
 * (its outputs and loss disposed, the batch disposed after `each`), so tf.memory() is flat across calls.
 */
export async function infer(model: tf.LayersModel, loader: BatchSource, options: InferenceOptions, each: (inferred: InferredBatch) => void | Promise<void>): Promise<void> {
  for await (const batch of loader.epoch(0)) {
    try {
      const targetTensor = options.targetsOf(batch);
      const { outputs, loss } = tf.tidy(() => {
        const out = model.apply([batch.images, batch.mask], { training: false }) as tf.Tensor;
        return { outputs: out, loss: options.lossOf && targetTensor ? options.lossOf(out, targetTensor, batch) : undefined };
      });
      try {
        const outputValues = (await outputs.data()) as Float32Array;
        const targets = targetTensor ? ((await targetTensor.data()) as Float32Array) : undefined;
        const lossValue = loss ? (await loss.data())[0] : undefined;
        await each({ batch, outputs: outputValues, ...(targets ? { targets } : {}), ...(lossValue !== undefined ? { loss: lossValue } : {}) });
      } finally {
        tf.dispose([outputs, loss]);
      }
    } finally {
      batch.dispose();
    }
    if (options.stop) {
      await yieldToSignals();
      if (options.stop()) throw new InterruptedError('prediction');
    }
  }
}
