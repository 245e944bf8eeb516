import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setLogLevel } from '../../src/core/log.ts';
import { Rng } from '../../src/core/rng.ts';
import type { Batch, BatchSource } from '../../src/data/loader.ts';
import { binarySchema } from '../../src/labels/schema.ts';
import { buildCriterion } from '../../src/losses/criterion.ts';
import { buildModel } from '../../src/models/build.ts';
import { Checkpoints } from '../../src/train/checkpoint.ts';
import { createOptimizer } from '../../src/train/optimizers.ts';
import { createSchedule } from '../../src/train/schedules.ts';
import { fit } from '../../src/train/trainer.ts';
import { useBackend } from '../helpers/backend.ts';

const schema = binarySchema(['a', 'b']);
const BATCHES = 3;

/** Batches of 2 patients × 2 slices of 8×8, each handed out `delayMs` after it is asked for. */
function source(delayMs: number): BatchSource {
  return {
    batchesPerEpoch: () => BATCHES,
    async *epoch(epoch: number) {
      for (let index = 0; index < BATCHES; index++) {
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        const tensors = {
          images: tf.randomNormal([2, 2, 8, 8, 1], 0, 1, 'float32', index) as tf.Tensor5D,
          mask: tf.ones([2, 2]) as tf.Tensor2D,
          targets: tf.tensor2d([[0, 1], [1, 0]]),
        };
        const batch: Batch = { epoch, index, patientIds: [`p${index}a`, `p${index}b`], sliceCounts: [2, 2], sliceIds: [[`p${index}a-0`, `p${index}a-1`], [`p${index}b-0`, `p${index}b-1`]], ...tensors, dispose: () => tf.dispose(Object.values(tensors)) };
        yield batch;
      }
    },
  };
}

let dir: string;
beforeAll(async () => {
  await useBackend();
  setLogLevel('warn');
  dir = mkdtempSync(join(tmpdir(), 'sliceseq-timing-'));
});
afterAll(() => {
  setLogLevel('info');
  rmSync(dir, { recursive: true, force: true });
});

async function train(delayMs: number, name: string) {
  const model = buildModel(
    { backbone: { name: 'small-vgg', channels: [4] }, encoder: { name: 'gru', hidden: 4 }, decoder: { name: 'lstm', hidden: 4 } },
    { schema, rng: new Rng(0), inputShape: { height: 8, width: 8, channels: 1 }, level: 'patient' },
  );
  const optimizer = createOptimizer({ name: 'adam', lr: 1e-3 });
  try {
    const state = await fit(
      {
        model,
        schema,
        criterion: buildCriterion(schema, { groups: { labels: { loss: { name: 'bce' }, weight: 1 } } }),
        optimizer,
        schedule: createSchedule({ name: 'constant' }),
        trainLoader: source(delayMs),
        valLoader: source(0),
        checkpoints: new Checkpoints(join(dir, name)),
      },
      { epochs: 1, level: 'patient', monitor: 'loss', zeroDivision: 0 },
    );
    return state.history[0] as Record<string, number>;
  } finally {
    model.dispose();
    optimizer.optimizer.dispose();
  }
}

describe('epoch timing in the history', () => {
  it('records wall time, training slices/s and the share of the training pass spent waiting for data', async () => {
    await train(0, 'warm-up'); // kernels compiled before timing
    const fast = await train(0, 'fast');
    const slow = await train(150, 'slow');
    for (const record of [fast, slow]) {
      expect(record.epoch_seconds).toBeGreaterThanOrEqual(record.train_seconds);
      // 3 batches of 4 real slices each. The record rounds seconds to 0.001 and the rate to 0.01, so their product
      // misses 12 by up to rate × 0.0005 + seconds × 0.005: 0.12 on a fast pass of 0.05 s.
      const { train_slices_per_second: rate, train_seconds: seconds } = record;
      expect(Math.abs(rate * seconds - 12)).toBeLessThanOrEqual(rate * 0.0005 + seconds * 0.005 + 1e-9);
    }
    // A loader that makes the model wait 3 × 150 ms shows it, whatever the steps themselves took.
    expect(slow.train_seconds).toBeGreaterThanOrEqual(0.45);
    expect(slow.data_wait_fraction * slow.train_seconds).toBeGreaterThanOrEqual(0.44);
    expect(slow.data_wait_fraction).toBeGreaterThan(fast.data_wait_fraction);
  });
});
