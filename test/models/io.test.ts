import * as tf from '@tensorflow/tfjs';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test, vi } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import { buildModel, modelMetadata } from '../../src/models/build.ts';
import { loadModel, saveModel } from '../../src/models/io.ts';
import { testBackends, useBackend } from '../helpers/backend.ts';
import { expectRoundTrip, mixedSchema, paddedBatch, withTempDir } from './model-checks.ts';

const config = {
  backbone: { name: 'small-vgg', channels: [4, 6], batchNorm: true },
  encoder: { name: 'gru', hidden: 5, bidirectional: true, dropout: 0.2 },
  decoder: { name: 'lstm', hidden: 4, inputs: 'embedding' as const },
};

describe.each([...testBackends, 'cpu'] as const)('save and load on %s', (backend) => {
  test('a full model (every custom layer) predicts the same after a round trip and keeps its metadata', async () => {
    await useBackend(backend);
    const model = buildModel(config, { schema: mixedSchema, rng: new Rng(4), inputShape: { height: 8, width: 8, channels: 1 }, level: 'slice' });
    const { inputs, mask } = paddedBatch(new Rng(1), [3, 2], 3, [8, 8, 1]);
    // A training call moves the batch-norm statistics away from their initial values, so they are checked too.
    tf.dispose(model.apply([inputs, mask], { training: true }) as tf.Tensor);
    const loaded = await expectRoundTrip(model, [inputs, mask]);
    expect(modelMetadata(loaded)).toEqual(modelMetadata(model));
    expect(modelMetadata(loaded)?.config.decoder).toEqual({ name: 'lstm', hidden: 4, inputs: 'embedding' });
    expect(loaded.layers.map((layer) => layer.getClassName())).toEqual(model.layers.map((layer) => layer.getClassName()));
    tf.dispose([inputs, mask]);
    loaded.dispose();
    model.dispose();
  });

  test('loading draws no random initial weights, inside the nested backbone included (the saved ones replace them)', async () => {
    await useBackend(backend);
    const model = buildModel(config, { schema: mixedSchema, rng: new Rng(4), inputShape: { height: 8, width: 8, channels: 1 }, level: 'patient' });
    // The backbone's convolutions are saved with VarianceScaling (He) initializers.
    const varianceScaling = Object.getPrototypeOf(tf.initializers.varianceScaling({ seed: 1 })) as { apply: (...args: unknown[]) => tf.Tensor };
    await withTempDir(async (dir) => {
      await saveModel(model, dir);
      const draws = vi.spyOn(varianceScaling, 'apply');
      try {
        const loaded = await loadModel(dir);
        expect(draws).not.toHaveBeenCalled();
        loaded.dispose();
      } finally {
        draws.mockRestore();
      }
    });
    model.dispose();
  });

  test('the timeDistributed stacking round-trips too', async () => {
    await useBackend(backend);
    const model = buildModel({ ...config, stacking: 'timeDistributed' }, { schema: mixedSchema, rng: new Rng(4), inputShape: { height: 8, width: 8, channels: 1 }, level: 'patient' });
    const { inputs, mask } = paddedBatch(new Rng(1), [3, 2], 3, [8, 8, 1]);
    const loaded = await expectRoundTrip(model, [inputs, mask]);
    expect(loaded.getLayer('backbone_per_slice').getClassName()).toBe('TimeDistributed');
    tf.dispose([inputs, mask]);
    loaded.dispose();
    model.dispose();
  });

  test('the directory holds model.json and weights.bin only, and a damaged one is a clear error', async () => {
    await useBackend(backend);
    const model = buildModel({ encoder: { name: 'lstm', hidden: 3 }, decoder: { name: 'gru', hidden: 2 } }, { schema: mixedSchema, rng: new Rng(2), inputShape: { features: 3 }, level: 'patient' });
    await withTempDir(async (dir) => {
      await saveModel(model, dir);
      expect(readdirSync(dir).sort()).toEqual(['model.json', 'weights.bin']);
      const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
      expect(json.weightsManifest[0].paths).toEqual(['weights.bin']);

      const weights = readFileSync(join(dir, 'weights.bin'));
      writeFileSync(join(dir, 'weights.bin'), weights.subarray(0, weights.length - 4));
      await expect(loadModel(dir)).rejects.toThrow(new RegExp(`weights files hold ${weights.length - 4} bytes but model.json describes ${weights.length}`));
      writeFileSync(join(dir, 'model.json'), '{"modelTopology": ');
      await expect(loadModel(dir)).rejects.toThrow(/model\.json: invalid JSON/);
    });
    await expect(loadModel('/nonexistent/sliceseq-model')).rejects.toThrow(/no model at \/nonexistent\/sliceseq-model: model.json is missing/);
    model.dispose();
  });
});
