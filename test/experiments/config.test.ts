import { describe, expect, it } from 'vitest';
import quickstart from '../../experiments/quickstart.ts';
import { applySet, deepMerge, parseExperiment } from '../../src/experiments/config.ts';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadExperimentFile } from '../../src/experiments/load.ts';
import { resolveExperiment } from '../../src/experiments/resolve.ts';
import { runExperiment } from '../../src/experiments/run.ts';

describe('experiment config', () => {
  it('accepts the quickstart experiment and fills defaults', () => {
    const experiment = parseExperiment(quickstart);
    expect(experiment.name).toBe('quickstart');
    expect(experiment.split).toEqual({ test: 0.2, folds: 5, fold: 0 });
    expect(experiment.evaluation).toEqual({ thresholds: 'per-class', zeroDivision: 1, denseThresholds: 'fixed' });
  });

  it('names the field and what was expected when a value is wrong', () => {
    expect(() => parseExperiment({ ...quickstart, train: { epochs: 0, batchSize: 4 } })).toThrow(/train\.epochs: .*(>=1|>0|at least|too small)/i);
    expect(() => parseExperiment({ ...quickstart, train: { epochs: 'ten', batchSize: 4 } })).toThrow(/train\.epochs: .*number/i);
    expect(() => parseExperiment({ ...quickstart, backend: 'gpu' })).toThrow(/backend: .*"auto"/);
    expect(() => parseExperiment({ ...quickstart, split: { folds: 3, fold: 3 } })).toThrow(/split\.fold: fold must be smaller than folds/);
  });

  it('rejects unknown keys, at the top and inside sections', () => {
    expect(() => parseExperiment({ ...quickstart, epochs: 3 })).toThrow(/epochs/);
    expect(() => parseExperiment({ ...quickstart, train: { epochs: 1, batchSize: 4, lr: 1 } })).toThrow(/train.*lr/s);
  });

  it('checks every registered component before any work starts', () => {
    expect(() => resolveExperiment(quickstart, { sets: ['data.dataset.name=nope'] })).toThrow(/unknown dataset 'nope'/);
    expect(() => resolveExperiment(quickstart, { sets: ['data.dataset.rooot=x'] })).toThrow(/data\.dataset 'rsna-ich'.*rooot/s);
    expect(() => resolveExperiment(quickstart, { sets: ['optimizer.name=adamw2'] })).toThrow(/unknown optimizer 'adamw2'/);
    expect(() => resolveExperiment(quickstart, { sets: ['schedule.warmup=2'] })).toThrow(/schedule 'cosine'.*warmup/s);
    expect(() => resolveExperiment(quickstart, { sets: ['data.preprocess=[{"name":"blur"}]'] })).toThrow(/preprocess\[0\]: unknown transform 'blur'/);
    expect(() => resolveExperiment(quickstart, { sets: ['model.encoder.name=gur'] })).toThrow(/unknown encoder 'gur'/);
    expect(() => resolveExperiment(quickstart, { sets: ['model.decoder.hiden=8'] })).toThrow(/model\.decoder 'lstm'[\s\S]*hiden/);
    expect(() => resolveExperiment(quickstart, { sets: ['model.backbone.chanels=[4]'] })).toThrow(/model\.backbone 'small-vgg'[\s\S]*chanels/);
    expect(() => resolveExperiment(quickstart, { sets: ['model.heads.binary.neck=4'] })).toThrow(/model\.heads\.binary[\s\S]*neck/);
    expect(() => resolveExperiment(quickstart, { sets: ['loss.groups.labels.loss.gama_neg=2'] })).toThrow(/loss\.groups\.labels\.loss 'asl'[\s\S]*gama_neg/);
  });

  it('checks a dense model\'s options too, and fills its defaults', async () => {
    const dense = await loadExperimentFile(join(import.meta.dirname, '../../experiments/dense-ordinal.ts'));
    expect(() => resolveExperiment(dense, { sets: ['model.dense.depht=2'] })).toThrow(/model\.dense 'unet'[\s\S]*depht/);
    expect(() => resolveExperiment(dense, { sets: ['model.dense.name=vnet'] })).toThrow(/unknown dense model 'vnet'/);
    expect(resolveExperiment(dense).model.dense).toMatchObject({ name: 'unet', convsPerBlock: 2, skips: true });
  });

  it('refuses a typo before reading any data, and leaves no run directory behind', async () => {
    const out = join(import.meta.dirname, 'no-such-folder', 'runs');
    const missingData = join(import.meta.dirname, 'no-such-folder', 'data');
    await expect(runExperiment(quickstart, { out, data: missingData, sets: ['model.encoder.name=gur'] })).rejects.toThrow(/unknown encoder 'gur'/);
    await expect(runExperiment(quickstart, { out, data: missingData, sets: ['loss.groups.labels.loss.gama_neg=2'] })).rejects.toThrow(/gama_neg/);
    expect(existsSync(join(import.meta.dirname, 'no-such-folder'))).toBe(false);
  });

  it('returns every component with its defaults filled in, and resolving that again changes nothing', async () => {
    const dir = join(import.meta.dirname, '../../experiments');
    for (const file of readdirSync(dir).filter((name) => /\.(ts|mts|js)$/.test(name) && !name.startsWith('ablation'))) {
      const resolved = resolveExperiment(await loadExperimentFile(join(dir, file)), { quick: true });
      expect(resolveExperiment(resolved), file).toEqual(resolved);
    }
    const experiment = resolveExperiment(quickstart, { sets: ['model.decoder.name=gru'] });
    expect(experiment.model.decoder).toEqual({ name: 'gru', hidden: 32, bidirectional: true, inputs: 'zeros', embeddingSize: 16 });
    expect(experiment.optimizer).toMatchObject({ name: 'adam', lr: 2e-3, beta1: 0.9 });
  });

  it('sets top-level fields with --set', () => {
    const experiment = resolveExperiment(quickstart, { sets: ['name=renamed', 'seed=4'] });
    expect(experiment.name).toBe('renamed');
    expect(experiment.seed).toBe(4);
    expect(experiment.model.encoder!.name).toBe('gru');
  });

  it('applies --quick, --set, --seed and --data in that order', () => {
    const experiment = resolveExperiment(quickstart, { quick: true, sets: ['train.batchSize=2', 'model.decoder.name=dense'], seed: 7, data: '/data/x' });
    expect(experiment.train.epochs).toBe(2);
    expect(experiment.train.batchSize).toBe(2);
    expect(experiment.seed).toBe(7);
    expect(experiment.data.dataset).toMatchObject({ name: 'rsna-ich', root: '/data/x' });
    expect(experiment.model.decoder!.name).toBe('dense');
    expect(experiment.data.maxSlices).toBe(8);
  });
});

describe('config merging', () => {
  it('parses --set values as JSON when they parse and as text otherwise', () => {
    expect(applySet({ a: { b: 1 } }, 'a.c=true')).toEqual({ a: { b: 1, c: true } });
    expect(applySet({}, 'x=[1,2]')).toEqual({ x: [1, 2] });
    expect(applySet({}, 'name=run-1')).toEqual({ name: 'run-1' });
    expect(() => applySet({}, 'novalue')).toThrow(/key=value/);
  });

  it('merges objects, replaces arrays, and replaces a component whose name changes', () => {
    expect(deepMerge({ a: [1, 2], b: { c: 1, d: 2 } }, { a: [3], b: { d: 4 } })).toEqual({ a: [3], b: { c: 1, d: 4 } });
    expect(deepMerge({ name: 'gru', hidden: 64 }, { hidden: 32 })).toEqual({ name: 'gru', hidden: 32 });
    expect(deepMerge({ name: 'gru', hidden: 64 }, { name: 'none' })).toEqual({ name: 'none' });
  });
});
