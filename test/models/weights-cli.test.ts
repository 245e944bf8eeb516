import type * as tfType from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { registerWeights } from '../../src/cli/commands/weights.ts';
import { Rng } from '../../src/core/rng.ts';
import { backbones } from '../../src/models/backbones/index.ts';
import { useBackend } from '../helpers/backend.ts';
import { runCli } from '../helpers/cli.ts';
import { asTorchStateDict, writeSafetensors } from '../helpers/safetensors.ts';
import { withTempDir } from './model-checks.ts';

let tf: typeof tfType;
beforeAll(async () => {
  tf = await useBackend('wasm');
});

const rgb = { height: 64, width: 64, channels: 3 };

function features(model: tfType.LayersModel, seed: number): Float32Array {
  return tf.tidy(() => (model.predict(tf.randomUniform([2, 64, 64, 3], 0, 1, 'float32', seed)) as tfType.Tensor).dataSync() as Float32Array);
}

describe('sliceseq weights', () => {
  test('inspect maps a torchvision-named ResNet-18 state dict; convert writes a tfjs folder that gives the same backbone', async () => {
    await withTempDir(async (dir) => {
      const source = backbones.create({ name: 'resnet18' }, { rng: new Rng(3), imageShape: rgb });
      const file = join(dir, 'resnet18.safetensors');
      writeSafetensors(file, { ...asTorchStateDict(tf, source.model), 'fc.weight': { shape: [2, 512], data: new Float32Array(1024) } });

      const text = await runCli(registerWeights, 'weights', 'inspect', file);
      expect(text).toContain(`${file}: safetensors (torch layout)`);
      expect(text).toMatch(/resnet18: fits \(40 layers; input normalisation 'imagenet'\)/);
      expect(text).toContain('stage2_block1_down_bn ← layer2.0.downsample.1');
      expect(text).toContain('not used: fc.weight');
      expect(text).toMatch(/vgg16: does not fit: backbone 'vgg16': .* has 20 Conv2D layers, the model has 13; they are matched by order/);

      const out = join(dir, 'converted');
      expect(await runCli(registerWeights, 'weights', 'convert', file, '--backbone', 'resnet18', '--out', out)).toContain("input normalisation 'imagenet'");
      const recorded = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')).userDefinedMetadata.sliceseqWeights;
      expect(recorded).toEqual({ source: file, format: 'safetensors', backbone: 'resnet18', normalize: 'imagenet' });

      const fromFile = backbones.create({ name: 'resnet18', weights: file }, { rng: new Rng(4), imageShape: rgb });
      const fromFolder = backbones.create({ name: 'resnet18', weights: out }, { rng: new Rng(5), imageShape: rgb });
      const plain = backbones.create({ name: 'resnet18', weights: out, normalize: 'none' }, { rng: new Rng(5), imageShape: rgb });
      expect(fromFolder.model.getLayer('input_norm')).toBeDefined();
      expect(Array.from(features(fromFolder.model, 1))).toEqual(Array.from(features(fromFile.model, 1)));
      expect(Array.from(features(plain.model, 1))).not.toEqual(Array.from(features(fromFile.model, 1)));
      [source, fromFile, fromFolder, plain].forEach(({ model }) => model.dispose());
    });
  }, 60_000);

  test('convert fails on a misfit naming the first layer and both shapes; inspect exits non-zero when nothing fits', async () => {
    await withTempDir(async (dir) => {
      const small = backbones.create({ name: 'resnet18', widthMultiplier: 1 / 16 }, { rng: new Rng(3), imageShape: rgb });
      const file = join(dir, 'small.safetensors');
      writeSafetensors(file, asTorchStateDict(tf, small.model));
      small.model.dispose();
      await expect(runCli(registerWeights, 'weights', 'convert', file, '--backbone', 'resnet18', '--out', join(dir, 'out'))).rejects.toThrow(
        /backbone 'resnet18': conv1.weight in .* has shape \[4, 3, 7, 7\] \(\[7, 7, 3, 4\] as \[h, w, in, out\]\), layer stem_conv needs \[7, 7, 3, 64\]/,
      );
      const text = await runCli(registerWeights, 'weights', 'inspect', file, '--backbone', 'resnet18');
      expect(text).toMatch(/resnet18: does not fit: .*conv1.weight/);
      expect(process.exitCode).toBe(1);
      process.exitCode = 0;
      await expect(runCli(registerWeights, 'weights', 'inspect', join(dir, 'model.pth'))).rejects.toThrow(/weights .*model.pth do not exist/);
    });
  }, 60_000);
});
