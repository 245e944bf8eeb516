import type * as tfType from '@tensorflow/tfjs';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import { binarySchema } from '../../src/labels/schema.ts';
import { backbones } from '../../src/models/backbones/index.ts';
import { buildModel } from '../../src/models/build.ts';
import { loadModel, saveModel } from '../../src/models/io.ts';
import { useBackend } from '../helpers/backend.ts';
import { withTempDir } from './model-checks.ts';

let tf: typeof tfType;
beforeAll(async () => {
  tf = await useBackend();
});

const tiny = { widthMultiplier: 1 / 16 };
const rgb = { height: 32, width: 32, channels: 3 };

function convKernels(model: tfType.LayersModel): tfType.Tensor[] {
  return model.layers.filter((layer) => layer.getClassName() === 'Conv2D').flatMap((layer) => layer.getWeights());
}

function expectSameValues(a: tfType.Tensor[], b: tfType.Tensor[]): void {
  expect(a.length).toBe(b.length);
  a.forEach((tensor, i) => expect(Array.from(b[i].dataSync()), `weight ${i}`).toEqual(Array.from(tensor.dataSync())));
}

/** Writes a model directory the way tensorflowjs_converter writes a Keras model: model_config, sharded weights, a dense top. */
async function writeKerasStyleModel(dir: string, convs: Array<{ name: string; kernel: tfType.Tensor; bias: tfType.Tensor }>): Promise<void> {
  const dense = { name: 'fc1', kernel: tf.ones([4, 2]), bias: tf.zeros([2]) };
  const layers = [
    { class_name: 'InputLayer', config: { name: 'input_1', batch_input_shape: [null, 32, 32, 3] } },
    ...convs.map(({ name }) => ({ class_name: 'Conv2D', config: { name, filters: 1 } })),
    { class_name: 'Flatten', config: { name: 'flatten' } },
    { class_name: 'Dense', config: { name: 'fc1' } },
  ];
  const named = [...convs, dense].flatMap(({ name, kernel, bias }) => [
    { name: `${name}/kernel`, tensor: kernel },
    { name: `${name}/bias`, tensor: bias },
  ]);
  const { data, specs } = await tf.io.encodeWeights(named);
  const bytes = new Uint8Array(data as ArrayBuffer);
  const half = Math.floor(bytes.length / 8) * 4;
  writeFileSync(join(dir, 'group1-shard1of2.bin'), bytes.subarray(0, half));
  writeFileSync(join(dir, 'group1-shard2of2.bin'), bytes.subarray(half));
  const modelTopology = { keras_version: '2.13.1', backend: 'tensorflow', model_config: { class_name: 'Functional', config: { name: 'vgg16', layers } } };
  const weightsManifest = [{ paths: ['group1-shard1of2.bin', 'group1-shard2of2.bin'], weights: specs }];
  writeFileSync(join(dir, 'model.json'), JSON.stringify({ format: 'layers-model', modelTopology, weightsManifest }));
  tf.dispose([dense.kernel, dense.bias]);
}

describe('vgg16 weights from a local tfjs Layers model directory', () => {
  test('a saved vgg16 loads into a differently seeded one, conv by conv', async () => {
    await withTempDir(async (dir) => {
      const source = backbones.create({ name: 'vgg16', ...tiny }, { rng: new Rng(1), imageShape: rgb });
      await saveModel(source.model, dir);
      const loaded = backbones.create({ name: 'vgg16', ...tiny, weights: dir }, { rng: new Rng(2), imageShape: rgb });
      const fresh = backbones.create({ name: 'vgg16', ...tiny }, { rng: new Rng(2), imageShape: rgb });
      expectSameValues(convKernels(source.model), convKernels(loaded.model));
      expect(Array.from(convKernels(fresh.model)[0].dataSync())).not.toEqual(Array.from(convKernels(source.model)[0].dataSync()));
      [source, loaded, fresh].forEach(({ model }) => model.dispose());
    });
  });

  test('a Keras-converted layout (model_config, shards, a dense top) maps by order; 3 channels adapt to 1', async () => {
    await withTempDir(async (dir) => {
      const reference = backbones.create({ name: 'vgg16', ...tiny }, { rng: new Rng(3), imageShape: rgb });
      const convLayers = reference.model.layers.filter((layer) => layer.getClassName() === 'Conv2D');
      const convs = convLayers.map((layer, i) => ({ name: `keras_conv_${i}`, kernel: layer.getWeights()[0], bias: layer.getWeights()[1] }));
      await writeKerasStyleModel(dir, convs);
      const gray = backbones.create({ name: 'vgg16', ...tiny, weights: dir }, { rng: new Rng(4), imageShape: { ...rgb, channels: 1 } });
      const loaded = convKernels(gray.model);
      const expected = convKernels(reference.model);
      // The first kernel's three input channels are summed for a grayscale input; everything else is copied.
      expect(loaded[0].shape).toEqual([3, 3, 1, 4]);
      const summed = tf.sum(expected[0], 2, true);
      expect(Array.from(loaded[0].dataSync()).map((v) => v.toFixed(5))).toEqual(Array.from(summed.dataSync()).map((v) => v.toFixed(5)));
      expectSameValues(expected.slice(1), loaded.slice(1));
      summed.dispose();
      reference.model.dispose();
      gray.model.dispose();
    });
  });

  test('mismatches are clear errors', async () => {
    await withTempDir(async (dir) => {
      const source = backbones.create({ name: 'vgg16', ...tiny }, { rng: new Rng(1), imageShape: rgb });
      await saveModel(source.model, dir);
      expect(() => backbones.create({ name: 'vgg16', widthMultiplier: 1 / 8, weights: dir }, { rng: new Rng(1), imageShape: rgb })).toThrow(
        /backbone 'vgg16': block1_conv1\/kernel in .* has shape \[3, 3, 3, 4\], layer block1_conv1 needs \[3, 3, 3, 8\]/,
      );
      source.model.dispose();
    });
    await withTempDir(async (dir) => {
      const small = backbones.create({ name: 'small-vgg', channels: [4] }, { rng: new Rng(1), imageShape: rgb });
      await saveModel(small.model, dir);
      expect(() => backbones.create({ name: 'vgg16', ...tiny, weights: dir }, { rng: new Rng(1), imageShape: rgb })).toThrow(
        /has 2 Conv2D layers, the model has 13; they are matched by order/,
      );
      small.model.dispose();
    });
    expect(() => backbones.create({ name: 'vgg16', ...tiny, weights: '/nonexistent/vgg16' }, { rng: new Rng(1), imageShape: rgb })).toThrow(/weights \/nonexistent\/vgg16 do not exist/);
  });
});

describe('input normalisation', () => {
  test("'caffe' scales to 0..255, reverses RGB to BGR and subtracts the BGR mean; a saved model keeps it", async () => {
    const backbone = backbones.create({ name: 'vgg16', ...tiny, normalize: 'caffe' }, { rng: new Rng(1), imageShape: rgb });
    const norm = tf.model({ inputs: backbone.model.inputs, outputs: backbone.model.getLayer('input_norm').output as tfType.SymbolicTensor });
    const pixel = tf.tidy(() => (norm.predict(tf.fill([1, 32, 32, 3], 0).add(tf.tensor1d([1, 0.5, 0]))) as tfType.Tensor).slice([0, 0, 0, 0], [1, 1, 1, 3]).dataSync());
    expect(Array.from(pixel).map((v) => Number(v.toFixed(3)))).toEqual([-103.939, 127.5 - 116.779, 255 - 123.68].map((v) => Number(v.toFixed(3))));
    await withTempDir(async (dir) => {
      await saveModel(backbone.model, dir);
      const loaded = await loadModel(dir);
      const x = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 4);
      const [a, b] = tf.tidy(() => [(backbone.model.predict(x) as tfType.Tensor).dataSync(), (loaded.predict(x) as tfType.Tensor).dataSync()]);
      expect(Array.from(b)).toEqual(Array.from(a));
      x.dispose();
      loaded.dispose();
    });
    backbone.model.dispose();
  });

  test("'imagenet' on one channel uses the averaged mean and std; no weights means no normalisation layer", () => {
    const gray = backbones.create({ name: 'resnet18', ...tiny, normalize: 'imagenet' }, { rng: new Rng(1), imageShape: { ...rgb, channels: 1 } });
    expect(gray.model.getLayer('input_norm').getConfig()).toMatchObject({ scale: 1, reverseChannels: false, mean: [(0.485 + 0.456 + 0.406) / 3], std: [(0.229 + 0.224 + 0.225) / 3] });
    const plain = backbones.create({ name: 'vgg16', ...tiny }, { rng: new Rng(1), imageShape: rgb });
    expect(plain.model.layers.map((layer) => layer.name)).not.toContain('input_norm');
    [gray, plain].forEach(({ model }) => model.dispose());
  });
});

describe('resnet18 weights', () => {
  test('a tfjs folder maps by layer name; a missing layer and a misfit shape name both sides', async () => {
    await withTempDir(async (dir) => {
      const source = backbones.create({ name: 'resnet18', ...tiny }, { rng: new Rng(1), imageShape: rgb });
      await saveModel(source.model, dir);
      const loaded = backbones.create({ name: 'resnet18', ...tiny, weights: dir }, { rng: new Rng(2), imageShape: rgb });
      expectSameValues(source.model.getWeights(), loaded.model.getWeights());
      expect(() => backbones.create({ name: 'resnet18', widthMultiplier: 1 / 8, weights: dir }, { rng: new Rng(1), imageShape: rgb })).toThrow(
        /backbone 'resnet18': stem_conv\/kernel in .* has shape \[7, 7, 3, 4\], layer stem_conv needs \[7, 7, 3, 8\]/,
      );
      expect(() => backbones.create({ name: 'resnet18', ...tiny, stem: 'compact', weights: dir }, { rng: new Rng(1), imageShape: rgb })).toThrow(
        /stem_conv\/kernel in .* has shape \[7, 7, 3, 4\], layer stem_conv needs \[3, 3, 3, 4\]/,
      );
      [source, loaded].forEach(({ model }) => model.dispose());
    });
    await withTempDir(async (dir) => {
      const vgg = backbones.create({ name: 'vgg16', ...tiny }, { rng: new Rng(1), imageShape: rgb });
      await saveModel(vgg.model, dir);
      expect(() => backbones.create({ name: 'resnet18', ...tiny, weights: dir }, { rng: new Rng(1), imageShape: rgb })).toThrow(
        /backbone 'resnet18': .* has no layer 'stem_conv' for layer stem_conv/,
      );
      vgg.model.dispose();
    });
  });

  test('ImageNet stem and strided convs pad symmetrically (as torchvision), keeping the output sizes', () => {
    const backbone = backbones.create({ name: 'resnet18', ...tiny }, { rng: new Rng(1), imageShape: { height: 64, width: 48, channels: 3 } });
    const shape = (name: string) => backbone.model.getLayer(name).outputShape;
    expect(shape('stem_pad')).toEqual([null, 70, 54, 3]);
    expect(shape('stem_conv')).toEqual([null, 32, 24, 4]);
    expect(shape('stem_pool')).toEqual([null, 16, 12, 4]);
    expect(shape('stage2_block1_conv1')).toEqual([null, 8, 6, 8]);
    backbone.model.dispose();
  });
});

describe('backbone options', () => {
  test("freeze 'stem' or N stages leaves the later stages trainable", () => {
    const trainable = (freeze: boolean | 'stem' | number, name: 'resnet18' | 'vgg16') =>
      backbones
        .create({ name, ...tiny, freeze }, { rng: new Rng(1), imageShape: rgb })
        .model.trainableWeights.map((weight) => weight.originalName.split('/')[0]);
    const stages = (names: string[]) => [...new Set(names.map((name) => name.replace(/_.*/, '')))];
    expect(stages(trainable('stem', 'resnet18'))).toEqual(['stage1', 'stage2', 'stage3', 'stage4']);
    expect(stages(trainable(2, 'resnet18'))).toEqual(['stage3', 'stage4']);
    expect(stages(trainable(0, 'resnet18'))).toEqual(['stem', 'stage1', 'stage2', 'stage3', 'stage4']);
    expect(stages(trainable('stem', 'vgg16'))).toEqual(['block2', 'block3', 'block4', 'block5']);
    expect(stages(trainable(4, 'vgg16'))).toEqual(['block5']);
    expect(trainable(true, 'vgg16')).toEqual([]);
  });

  test('a partly frozen backbone keeps the frozen batch norms in inference mode only', () => {
    const model = backbones.create({ name: 'resnet18', ...tiny, stem: 'compact', freeze: 'stem' }, { rng: new Rng(2), imageShape: { height: 8, width: 8, channels: 1 } }).model;
    const x = tf.randomNormal([4, 8, 8, 1], 3, 2, 'float32', 5);
    const mean = (name: string) => Array.from(model.getLayer(name).getWeights()[2].dataSync());
    const [stemBefore, stageBefore] = [mean('stem_bn'), mean('stage1_block1_bn1')];
    tf.tidy(() => model.apply(x, { training: true }) as tfType.Tensor);
    expect(mean('stem_bn')).toEqual(stemBefore);
    expect(mean('stage1_block1_bn1')).not.toEqual(stageBefore);
    model.dispose();
    x.dispose();
  });

  test('freeze leaves only the sequence model and heads trainable', () => {
    const build = (freeze: boolean) =>
      buildModel(
        { backbone: { name: 'resnet18', ...tiny, stem: 'compact', freeze }, encoder: { name: 'gru', hidden: 3 }, decoder: { name: 'lstm', hidden: 2 } },
        { schema: binarySchema(['a']), rng: new Rng(1), inputShape: { height: 8, width: 8, channels: 1 }, level: 'patient' },
      );
    const [trainable, frozen] = [build(false), build(true)];
    const names = (model: tfType.LayersModel) => model.trainableWeights.map((weight) => weight.originalName);
    expect(names(trainable).some((name) => name.startsWith('stage1_block1_conv1'))).toBe(true);
    expect(names(frozen).some((name) => /stage|stem/.test(name))).toBe(false);
    expect(names(frozen).length).toBeGreaterThan(0);
    expect(frozen.getLayer('backbone').trainableWeights).toEqual([]);
    trainable.dispose();
    frozen.dispose();
  });

  test('a frozen backbone keeps its batch norms in inference mode: training gives the same features and moves no averages', () => {
    const build = (freeze: boolean) =>
      backbones.create({ name: 'small-vgg', channels: [3, 4], batchNorm: true, freeze }, { rng: new Rng(2), imageShape: { height: 8, width: 8, channels: 1 } }).model;
    const x = tf.randomNormal([4, 8, 8, 1], 3, 2, 'float32', 5);
    const movingMeans = (model: tfType.LayersModel) => model.weights.filter((w) => w.originalName.includes('moving_mean')).map((w) => Array.from(w.read().dataSync()));
    for (const freeze of [true, false]) {
      const model = build(freeze);
      const before = movingMeans(model);
      expect(before.length).toBeGreaterThan(0);
      const [training, inference] = tf.tidy(() => [
        (model.apply(x, { training: true }) as tfType.Tensor).dataSync(),
        (model.apply(x, { training: false }) as tfType.Tensor).dataSync(),
      ]);
      const same = Array.from(training).every((v, i) => Math.abs(v - inference[i]) < 1e-6);
      expect(same, `freeze ${freeze}`).toBe(freeze);
      expect(movingMeans(model)).toEqual(freeze ? before : expect.not.arrayContaining(before));
      model.dispose();
    }
    x.dispose();
  });

  test('input size and channels are configurable; the feature size follows the width', () => {
    for (const [name, options, features] of [
      ['small-vgg', { channels: [3, 5, 7] }, 7],
      ['vgg16', tiny, 32],
      ['resnet18', { widthMultiplier: 1 / 8 }, 64],
    ] as const) {
      const backbone = backbones.create({ name, ...options }, { rng: new Rng(1), imageShape: { height: 40, width: 24, channels: 2 } });
      expect(backbone.model.inputs[0].shape).toEqual([null, 40, 24, 2]);
      expect(backbone.featureSize).toBe(features);
      backbone.model.dispose();
    }
  });
});
