import type * as tfType from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import { readNpy } from '../../src/data/npy.ts';
import { backbones } from '../../src/models/backbones/index.ts';
import { convertWeights, inspectWeights } from '../../src/models/weights.ts';
import { testBackends, useBackend } from '../helpers/backend.ts';

/**
 * Proof of equality with the source frameworks: scripts/make-pretrained-fixtures.py builds VGG16 (Keras) and
 * ResNet-18 and VGG16 (torchvision) with random weights, saves them in every format sliceseq imports and
 * computes their features; the imported backbones must give the same features, max |difference| < 1e-4 of the
 * features' scale. The files (~60 MB each) are made on the fly in a temporary folder.
 */
const script = join(import.meta.dirname, '..', '..', 'scripts', 'make-pretrained-fixtures.py');

function firstPython(candidates: Array<string | undefined>, modules: string): string | undefined {
  return candidates.find((python) => python && spawnSync(python, ['-c', `import ${modules}`], { stdio: 'ignore' }).status === 0);
}

const kerasPython = firstPython([process.env.SLICESEQ_KERAS_PYTHON, '.venv-keras/bin/python', 'python3'], 'keras, h5py, safetensors');
const torchPython = firstPython([process.env.SLICESEQ_TORCH_PYTHON, '/usr/bin/python3', 'python3'], 'torch, torchvision');
if (!kerasPython) {
  console.warn(
    'Keras parity tests skipped: no Python with keras, h5py and safetensors (python3 -m venv .venv-keras && ' +
      '.venv-keras/bin/pip install tensorflow-cpu==2.21.0 safetensors==0.8.0, or set SLICESEQ_KERAS_PYTHON)',
  );
}
if (!torchPython || !kerasPython) {
  console.warn(
    'PyTorch parity tests skipped: they need torch and torchvision (apt-get install python3-torch python3-torchvision, ' +
      'or set SLICESEQ_TORCH_PYTHON) and, to write safetensors, the Keras Python above',
  );
}

function run(python: string, args: string[]): void {
  const result = spawnSync(python, [script, ...args], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${python} ${script} ${args.join(' ')} failed:\n${result.stderr}`);
}

let tf: typeof tfType;
// Made (and removed) only when some test runs: with every test skipped, vitest runs no hooks.
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sliceseq-pretrained-'));
  tf = await useBackend();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Features of `backbones.create(config)` on the fixture input, against the framework's, relative to their scale:
 * the largest difference over every backend that loads here (native and wasm).
 */
async function compare(config: Record<string, unknown>, stem: string): Promise<{ maxDiff: number; scale: number }> {
  const input = readNpy(join(dir, `${stem}-input.npy`));
  const expected = readNpy(join(dir, `${stem}-features.npy`));
  const [n, height, width, channels] = input.shape;
  const scale = Math.max(...Array.from(expected.data, Math.abs));
  let maxDiff = 0;
  for (const backend of testBackends) {
    tf = await useBackend(backend);
    const backbone = backbones.create(config as { name: string }, { rng: new Rng(9), imageShape: { height, width, channels } });
    const features = tf.tidy(() => (backbone.model.predict(tf.tensor4d(input.data, [n, height, width, channels])) as tfType.Tensor).dataSync());
    backbone.model.dispose();
    expect(features.length, backend).toBe(expected.data.length);
    maxDiff = Math.max(maxDiff, ...Array.from(features, (v, i) => Math.abs(v - expected.data[i])));
  }
  return { maxDiff, scale };
}

describe.skipIf(!kerasPython)('Keras VGG16 imported from .h5 and .keras gives Keras features', () => {
  beforeAll(() => run(kerasPython!, ['keras', dir]), 300_000);

  test.each([
    ['vgg16-notop.h5', 'the applications’ weights-only layout'],
    ['vgg16-keras2.h5', 'Keras 2’s encoding of it, as downloaded'],
    ['vgg16-full.h5', 'a legacy full-model file'],
    ['vgg16.keras', 'a Keras 3 archive'],
    ['vgg16.weights.h5', 'a Keras 3 weights file'],
    ['vgg16-nested.h5', 'a full-model file with VGG16 nested in a Sequential'],
    ['vgg16-nested.keras', 'the same as a Keras 3 archive'],
  ])('%s (%s)', async (file) => {
    const { maxDiff, scale } = await compare({ name: 'vgg16', weights: join(dir, file) }, 'vgg16');
    expect(scale).toBeGreaterThan(0);
    expect(maxDiff / scale).toBeLessThan(1e-4);
  });

  test('inspect maps the 13 convolutions; the converted tfjs folder gives the same features', async () => {
    const report = inspectWeights(join(dir, 'vgg16.keras'), { backbone: 'vgg16' });
    expect(report.fits[0]).toMatchObject({ error: null, normalize: 'caffe', unused: [] });
    expect(report.fits[0].mapping.map((m) => `${m.layer}<${m.source}`).slice(0, 2)).toEqual(['block1_conv1<block1_conv1', 'block1_conv2<block1_conv2']);
    const out = join(dir, 'vgg16-tfjs');
    await convertWeights(join(dir, 'vgg16-full.h5'), { backbone: 'vgg16', out });
    const { maxDiff, scale } = await compare({ name: 'vgg16', weights: out }, 'vgg16');
    expect(maxDiff / scale).toBeLessThan(1e-4);
  });

  test("the 'caffe' normalisation is what makes them equal", async () => {
    const { maxDiff, scale } = await compare({ name: 'vgg16', weights: join(dir, 'vgg16-notop.h5'), normalize: 'imagenet' }, 'vgg16');
    expect(maxDiff / scale).toBeGreaterThan(1e-2);
  });
});

describe.skipIf(!torchPython || !kerasPython)('torchvision ResNet-18 and VGG16 imported from safetensors give PyTorch features', () => {
  beforeAll(() => {
    run(torchPython!, ['torch', dir]);
    for (const stem of ['resnet18', 'vgg16-torch']) run(kerasPython!, ['safetensors', join(dir, `${stem}-state.npz`), join(dir, `${stem}.safetensors`)]);
  }, 300_000);

  test('resnet18: BN running statistics, transposed kernels, symmetric stem and stride padding', async () => {
    const { maxDiff, scale } = await compare({ name: 'resnet18', weights: join(dir, 'resnet18.safetensors') }, 'resnet18');
    expect(scale).toBeGreaterThan(0);
    expect(maxDiff / scale).toBeLessThan(1e-4);
  });

  test("resnet18 at an odd size (57 px), where 'same' padding would agree and the explicit padding must too", async () => {
    const odd = join(dir, 'odd');
    run(torchPython!, ['torch', odd, '--size', '57']);
    run(kerasPython!, ['safetensors', join(odd, 'resnet18-state.npz'), join(odd, 'resnet18.safetensors')]);
    const { maxDiff, scale } = await compare({ name: 'resnet18', weights: join(odd, 'resnet18.safetensors') }, join('odd', 'resnet18'));
    expect(maxDiff / scale).toBeLessThan(1e-4);
  }, 120_000);

  test('vgg16 from torchvision’s features.N', async () => {
    const { maxDiff, scale } = await compare({ name: 'vgg16', weights: { path: join(dir, 'vgg16-torch.safetensors'), format: 'safetensors' } }, 'vgg16-torch');
    expect(maxDiff / scale).toBeLessThan(1e-4);
  });

  test('.pth files are refused with the command that converts them', () => {
    expect(existsSync(join(dir, 'resnet18.pth'))).toBe(true);
    expect(() => backbones.create({ name: 'resnet18', weights: join(dir, 'resnet18.pth') }, { rng: new Rng(1), imageShape: { height: 64, width: 64, channels: 3 } })).toThrow(
      /PyTorch pickles \(\.pth\) are not read .*save_file/,
    );
  });
});
