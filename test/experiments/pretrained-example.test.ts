import type * as tfType from '@tensorflow/tfjs';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractExperiment } from '../../src/cli/commands/extract.ts';
import { setLogLevel } from '../../src/core/log.ts';
import { Rng } from '../../src/core/rng.ts';
import { loadExperimentFile } from '../../src/experiments/load.ts';
import { runExperiment } from '../../src/experiments/run.ts';
import { backbones } from '../../src/models/backbones/index.ts';
import { useBackend } from '../helpers/backend.ts';
import { asTorchStateDict, writeSafetensors } from '../helpers/safetensors.ts';
import { tinyDemoData } from '../train/helpers.ts';

/**
 * experiments/pretrained-vgg16.ts and its two-stage sequence experiment, end to end at --quick size on tiny demo
 * data, with a full-size VGG16 weight file made here (torchvision's `features.N` names, as safetensors) in place
 * of the ImageNet one, which the test machine does not have.
 */
const torchvisionConvs = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28];
let tf: typeof tfType;
let root: string;
let data: string;
let weights: string;

beforeAll(async () => {
  tf = await useBackend('wasm');
  setLogLevel('error');
  ({ root, data } = await tinyDemoData());
  const source = backbones.create({ name: 'vgg16' }, { rng: new Rng(5), imageShape: { height: 32, width: 32, channels: 3 } });
  weights = join(root, 'vgg16.safetensors');
  writeSafetensors(weights, asTorchStateDict(tf, source.model, (_, index) => `features.${torchvisionConvs[index]}`));
  source.model.dispose();
});

afterAll(() => {
  setLogLevel('info');
  rmSync(root, { recursive: true, force: true });
});

const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

describe('pretrained VGG16 example', () => {
  it('fine-tunes end to end from the weight file, recording the weights and their normalisation', async () => {
    const experiment = await loadExperimentFile('experiments/pretrained-vgg16.ts');
    const sets = [`model.backbone.weights=${weights}`, 'data.dataset.cacheDir=null'];
    const { runDir } = await runExperiment(experiment, { out: join(root, 'runs'), data, quick: true, backend: 'wasm', sets });
    expect(readJson(join(runDir, 'environment.json')).pretrained).toEqual({ path: weights, format: 'safetensors', bytes: expect.any(Number), normalize: 'imagenet' });
    expect(readJson(join(runDir, 'metrics.json')).test.f2.samples).toBeGreaterThanOrEqual(0);
  }, 300_000);

  it('two-stage: extracts once with the imported CNN, then trains the sequence model on the cache', async () => {
    const sets = [`model.backbone.weights=${weights}`, 'data.dataset.cacheDir=null'];
    const cache = join(root, 'embeddings', 'pretrained-vgg16');
    const extracted = await extractExperiment(await loadExperimentFile('experiments/pretrained-vgg16.ts'), { data, quick: true, set: sets, cache, backend: 'wasm' });
    expect(extracted.features).toBe(512);

    const sequence = await loadExperimentFile('experiments/pretrained-vgg16-sequence.ts');
    const { runDir } = await runExperiment(sequence, {
      out: join(root, 'runs'),
      data,
      quick: true,
      backend: 'wasm',
      sets: [`data.embeddings.cache=${cache}`, 'data.embeddings.extract.quick=true', `data.embeddings.extract.sets=${JSON.stringify(sets)}`, 'data.dataset.cacheDir=null'],
    });
    expect(readJson(join(runDir, 'environment.json')).embeddings.fingerprint).toBe(extracted.fingerprint);
    expect(readJson(join(runDir, 'metrics.json')).test.f2.samples).toBeGreaterThanOrEqual(0);
  }, 300_000);
});
