import { describe, expect, it } from 'vitest';
import quickstart from '../../experiments/quickstart.ts';
import { applySet, deepMerge, parseExperiment } from '../../src/experiments/config.ts';
import { resolveExperiment } from '../../src/experiments/run.ts';

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
  });

  it('applies --quick, --set, --seed and --data in that order', () => {
    const experiment = resolveExperiment(quickstart, { quick: true, sets: ['train.batchSize=2', 'model.decoder.name=dense'], seed: 7, data: '/data/x' });
    expect(experiment.train.epochs).toBe(2);
    expect(experiment.train.batchSize).toBe(2);
    expect(experiment.seed).toBe(7);
    expect(experiment.data.dataset).toEqual({ name: 'rsna-ich', root: '/data/x' });
    expect(experiment.model.decoder).toEqual({ name: 'dense' });
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
