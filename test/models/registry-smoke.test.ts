import type * as tfType from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import { binarySchema, parseLabelSchema, totalOutputWidth, type LabelGroup, type LabelSchema } from '../../src/labels/schema.ts';
import { backbones } from '../../src/models/backbones/index.ts';
import { buildModel, type ModelConfigInput, type ModelInputShape } from '../../src/models/build.ts';
import { decoders } from '../../src/models/decoders/index.ts';
import { encoders, outputLevels, type OutputLevel } from '../../src/models/encoders/index.ts';
import { heads } from '../../src/models/heads/index.ts';
import { testBackends, useBackend } from '../helpers/backend.ts';
import { expectFinite, expectNoTensorLeak, expectRoundTrip, mixedSchema, paddedBatch, variablesWithoutGradient } from './model-checks.ts';

let tf: typeof tfType;
beforeAll(async () => {
  tf = await useBackend();
});

/** Shrinks the heavy backbones for the smoke test; a backbone missing here runs with its defaults. */
const tinyBackboneOptions: Record<string, Record<string, unknown>> = {
  vgg16: { widthMultiplier: 1 / 16 },
  resnet18: { widthMultiplier: 1 / 16 },
  'small-vgg': { channels: [4, 8] },
};

const imageShape = { height: 32, width: 32, channels: 1 };
const embeddingShape = { features: 6 };
const lengths = [3, 1];
const slices = 4;

/** Every check of the smoke suite, for one model built from `config`. */
async function smoke(config: ModelConfigInput, schema: LabelSchema, inputShape: ModelInputShape, level: OutputLevel): Promise<void> {
  const model = buildModel(config, { schema, rng: new Rng(7), inputShape, level });
  const perSlice = 'features' in inputShape ? [inputShape.features] : [inputShape.height, inputShape.width, inputShape.channels];
  const { inputs, mask } = paddedBatch(new Rng(8), lengths, slices, perSlice);
  const width = totalOutputWidth(schema);

  const logits = model.predict([inputs, mask]) as tfType.Tensor;
  expect(logits.shape).toEqual(level === 'patient' ? [lengths.length, width] : [lengths.length, slices, width]);
  expectFinite(logits, 'logits');
  logits.dispose();

  expect(model.trainableWeights.length).toBeGreaterThan(0);
  expect(variablesWithoutGradient(model, [inputs, mask])).toEqual([]);
  expectNoTensorLeak(model, [inputs, mask]);
  const loaded = await expectRoundTrip(model, [inputs, mask]);
  loaded.dispose();
  model.dispose();
  tf.dispose([inputs, mask]);
}

function schemaWithOnly(kind: string): LabelSchema {
  const groups = mixedSchema.groups.filter((group: LabelGroup) => group.kind === kind);
  if (!groups.length) throw new Error(`the test schema has no ${kind} group: add one for the new head kind`);
  return parseLabelSchema({ groups });
}

// Built, run forward, checked that every trainable weight gets a gradient, for leaks and saved/loaded on every backend that loads here (native and wasm).
describe.each(testBackends)('on %s', (backend) => {
  beforeAll(async () => {
    tf = await useBackend(backend);
  });

  describe('every registered backbone', () => {
    test.each(backbones.names())('%s: shape, finite, gradients, no leak, save/load', async (name) => {
      const config = { backbone: { name, ...tinyBackboneOptions[name] }, encoder: { name: 'none' }, decoder: { name: 'dense' } };
      await smoke(config, binarySchema(['a', 'b']), imageShape, 'patient');
    });
  });

  describe('every registered encoder, at both output levels', () => {
    const cases = encoders.names().flatMap((name) => outputLevels.map((level) => [name, level] as const));
    test.each(cases)('%s (%s level)', async (name, level) => {
      await smoke({ encoder: { name, ...(name === 'none' ? {} : { hidden: 5 }) }, decoder: { name: 'dense' } }, binarySchema(['a', 'b']), embeddingShape, level);
    });
  });

  describe('every registered decoder, at both output levels', () => {
    const cases = decoders.names().flatMap((name) => outputLevels.map((level) => [name, level] as const));
    test.each(cases)('%s (%s level)', async (name, level) => {
      await smoke({ encoder: { name: 'gru', hidden: 5 }, decoder: { name } }, binarySchema(['a', 'b', 'c']), embeddingShape, level);
    });
  });

  describe('every registered head kind', () => {
    test.each(heads.names())('%s', async (kind) => {
      await smoke({ encoder: { name: 'gru', hidden: 5 }, decoder: { name: 'lstm', hidden: 4 } }, schemaWithOnly(kind), embeddingShape, 'patient');
    });

    test('all kinds together, slice level, from images', async () => {
      const config = { backbone: { name: 'small-vgg', channels: [4] }, encoder: { name: 'gru', hidden: 5 }, decoder: { name: 'lstm', hidden: 4 } };
      await smoke(config, mixedSchema, { height: 8, width: 8, channels: 3 }, 'slice');
    });
  });
});

describe('configs are validated', () => {
  const options = { schema: binarySchema(['a']), rng: new Rng(1), inputShape: embeddingShape, level: 'patient' as const };
  const valid = { encoder: { name: 'gru' }, decoder: { name: 'lstm' } };
  const cases: Array<[string, unknown, RegExp]> = [
    ['unknown backbone', { ...valid, backbone: { name: 'vgg17' } }, /unknown backbone 'vgg17'; registered: vgg16, small-vgg, resnet18/],
    ['unknown encoder', { ...valid, encoder: { name: 'transformer' } }, /unknown encoder 'transformer'/],
    ['unknown decoder', { ...valid, decoder: { name: 'attention' } }, /unknown decoder 'attention'/],
    ['unknown encoder option', { ...valid, encoder: { name: 'gru', hiden: 3 } }, /encoder 'gru'[\s\S]*hiden/],
    ['unknown decoder option', { ...valid, decoder: { name: 'dense', hidden: 3 } }, /decoder 'dense'[\s\S]*hidden/],
    ['bad option value', { ...valid, decoder: { name: 'lstm', inputs: 'ones' } }, /decoder 'lstm'[\s\S]*inputs/],
    ['unknown top-level key', { ...valid, optimizer: 'adam' }, /model config[\s\S]*optimizer/],
    ['unknown head kind', { ...valid, heads: { multilabel: {} } }, /unknown head 'multilabel'/],
    ['unknown head option', { ...valid, heads: { ordinal: { neck: 8, depth: 2 } } }, /heads\.ordinal[\s\S]*depth/],
  ];
  test.each(cases)('%s', (_what, config, message) => {
    expect(() => buildModel(config as ModelConfigInput, options)).toThrow(message);
  });

  test('an unknown backbone option fails even when the backbone is built', () => {
    const config = { ...valid, backbone: { name: 'small-vgg', chanels: [4] } };
    expect(() => buildModel(config, { ...options, inputShape: imageShape })).toThrow(/backbone 'small-vgg'[\s\S]*chanels/);
  });

  test('image inputs need a backbone; input shapes and levels are checked', () => {
    expect(() => buildModel(valid, { ...options, inputShape: imageShape })).toThrow(/backbone: required/);
    expect(() => buildModel(valid, { ...options, inputShape: { features: 0 } })).toThrow(/model inputShape/);
    expect(() => buildModel(valid, { ...options, level: 'study' as OutputLevel })).toThrow(/model level/);
  });
});
