import type * as tfType from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import { binarySchema } from '../../src/labels/schema.ts';
import { buildBackbone, buildModel } from '../../src/models/build.ts';
import { orthogonalMatrix } from '../../src/models/layers/initializers.ts';
import { SeededDropout } from '../../src/models/layers/seeded-dropout.ts';
import { useBackend } from '../helpers/backend.ts';
import { mixedSchema } from './model-checks.ts';

let tf: typeof tfType;
beforeAll(async () => {
  tf = await useBackend();
});

const config = {
  backbone: { name: 'resnet18', widthMultiplier: 1 / 16, stem: 'compact' as const },
  encoder: { name: 'gru', hidden: 4, dropout: 0.3 },
  decoder: { name: 'lstm', hidden: 3, inputs: 'embedding' as const },
};
const inputShape = { height: 8, width: 8, channels: 1 };

function weightsOf(model: tfType.LayersModel, filter: (name: string) => boolean = () => true): Map<string, number[]> {
  return new Map(model.weights.filter((w) => filter(w.originalName)).map((w) => [w.originalName, Array.from(w.read().dataSync())]));
}

describe('one experiment seed fixes the weights', () => {
  test('the same seed builds identical weights; another seed, different ones', () => {
    const build = (seed: number) => buildModel(config, { schema: mixedSchema, rng: new Rng(seed), inputShape, level: 'patient' });
    const [a, b, c] = [build(1), build(1), build(2)];
    const [wa, wb, wc] = [a, b, c].map((model) => weightsOf(model));
    expect(wa.size).toBeGreaterThan(20);
    expect(wb).toEqual(wa);
    const randomlyInitialized = [...wa.keys()].filter((name) => /kernel|embedding/.test(name));
    for (const name of randomlyInitialized) expect(wc.get(name), name).not.toEqual(wa.get(name));
    [a, b, c].forEach((model) => model.dispose());
  });

  test('adding a label group leaves the backbone and encoder weights unchanged', () => {
    const few = buildModel(config, { schema: binarySchema(['a']), rng: new Rng(3), inputShape, level: 'patient' });
    const many = buildModel(config, { schema: mixedSchema, rng: new Rng(3), inputShape, level: 'patient' });
    const shared = (name: string) => !name.startsWith('head_');
    expect(weightsOf(many, shared)).toEqual(weightsOf(few, shared));
    few.dispose();
    many.dispose();
  });

  test('buildBackbone gives the backbone buildModel builds from the same Rng state (two-stage mode)', () => {
    const alone = buildBackbone(config.backbone, { rng: new Rng(5), imageShape: inputShape });
    const model = buildModel(config, { schema: mixedSchema, rng: new Rng(5), inputShape, level: 'patient' });
    const fromModel = model.getLayer('backbone') as tfType.LayersModel;
    expect(weightsOf(alone.model)).toEqual(weightsOf(fromModel));
    alone.model.dispose();
    model.dispose();
  });
});

describe('seeded dropout', () => {
  test('a new mask every training call, the same sequence of masks for the same seed, identity at inference', () => {
    const x = tf.ones([1, 64]);
    const masks = (layer: SeededDropout) => [1, 2, 3].map(() => tf.tidy(() => Array.from((layer.apply(x, { training: true }) as tfType.Tensor).dataSync())));
    const [first, second, other] = [masks(new SeededDropout({ rate: 0.5, seed: 9 })), masks(new SeededDropout({ rate: 0.5, seed: 9 })), masks(new SeededDropout({ rate: 0.5, seed: 10 }))];
    expect(second).toEqual(first);
    expect(first[1]).not.toEqual(first[0]);
    expect(other[0]).not.toEqual(first[0]);
    expect(first[0].filter((v) => v === 0).length).toBeGreaterThan(10);
    expect(first[0].every((v) => v === 0 || Math.abs(v - 2) < 1e-6)).toBe(true);
    const inference = tf.tidy(() => Array.from((new SeededDropout({ rate: 0.5, seed: 9 }).apply(x) as tfType.Tensor).dataSync()));
    expect(inference).toEqual(new Array(64).fill(1));
    x.dispose();
  });
});

describe('recurrent kernel initialization', () => {
  test('orthogonalMatrix is orthogonal and seeded', () => {
    const n = 24;
    const q = orthogonalMatrix(n, new Rng(4));
    for (let a = 0; a < n; a++) {
      for (let b = 0; b < n; b++) {
        let dot = 0;
        for (let i = 0; i < n; i++) dot += q[a * n + i] * q[b * n + i];
        expect(dot).toBeCloseTo(a === b ? 1 : 0, 10);
      }
    }
    expect(Array.from(orthogonalMatrix(n, new Rng(4)))).toEqual(Array.from(q));
    expect(Array.from(orthogonalMatrix(n, new Rng(5)))).not.toEqual(Array.from(q));
  });
});
