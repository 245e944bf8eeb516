import { describe, expect, it } from 'vitest';
import lstmVsGru from '../../experiments/ablation-lstm-vs-gru.ts';
import quickstart from '../../experiments/quickstart.ts';
import {
  checkPlan,
  expandPatch,
  parseAblation,
  parseShard,
  patchPaths,
  planAblation,
  shardFromEnv,
  shardTrials,
  trialExperiment,
  type AblationInput,
} from '../../src/experiments/ablation.ts';
import { parseExperiment } from '../../src/experiments/config.ts';

const ablation = parseAblation(lstmVsGru);

function ablationWith(fields: Record<string, unknown>): unknown {
  return { ...(lstmVsGru as AblationInput), ...fields };
}

describe('ablation grid', () => {
  it('crosses 3 encoders with 3 decoders, 3 seeds by default, and names trials <variant>-seed<s>-fold<f>', () => {
    const plan = planAblation(ablation);
    expect(plan.variants.map((v) => v.name)).toEqual(['gru-lstm', 'gru-gru', 'gru-dense', 'lstm-lstm', 'lstm-gru', 'lstm-dense', 'none-lstm', 'none-gru', 'none-dense']);
    expect(plan.reference).toBe('gru-lstm');
    expect(plan.seeds).toEqual([0, 1, 2]);
    expect(plan.trials).toHaveLength(27);
    expect(new Set(plan.trials.map((t) => t.name)).size).toBe(27);
    expect(plan.trials[0]).toEqual({ name: 'gru-lstm-seed0-fold0', variant: 'gru-lstm', seed: 0, fold: 0 });
    // Seed-major: the first nine trials are every variant of seed 0.
    expect(plan.trials.slice(0, 9).every((t) => t.seed === 0)).toBe(true);
  });

  it('merges each variant into the base: a renamed component is replaced whole, the rest is the base', () => {
    const plan = planAblation(ablation);
    const trial = plan.trials.find((t) => t.name === 'none-dense-seed2-fold0')!;
    const experiment = parseExperiment(trialExperiment(plan, trial));
    expect(experiment.model.encoder).toEqual({ name: 'none', pooling: 'max' });
    expect(experiment.model.decoder).toEqual({ name: 'dense' });
    expect(experiment.model.backbone).toEqual(quickstart.model.backbone);
    expect(experiment.seed).toBe(2);
    expect(experiment.train.epochs).toBe(quickstart.train.epochs);
    expect(experiment.split).toEqual({ test: 0.2, folds: 5, fold: 0 });
    const reference = parseExperiment(trialExperiment(plan, plan.trials[0]));
    expect(reference.model).toEqual(parseExperiment(quickstart).model);
  });

  it('--quick: one seed, the base quick overrides then the ablation quick patch, every variant kept', () => {
    const plan = planAblation(ablation, { quick: true });
    expect(plan.seeds).toEqual([0]);
    expect(plan.trials).toHaveLength(9);
    const experiment = parseExperiment(trialExperiment(plan, plan.trials[4]));
    expect(experiment.train.epochs).toBe(2);
    expect(experiment.data.maxSlices).toBe(8);
    expect(experiment.model.backbone).toMatchObject({ name: 'small-vgg', channels: [8, 16, 32] });
    expect(experiment.model.encoder).toEqual({ name: 'lstm', hidden: 64, bidirectional: true });
  });

  it('--seeds and --folds: K folds set split.folds = K and split.fold = f', () => {
    const plan = planAblation(ablation, { seeds: 2, folds: 3 });
    expect(plan.seeds).toEqual([0, 1]);
    expect(plan.trials).toHaveLength(9 * 2 * 3);
    const trial = plan.trials.find((t) => t.name === 'gru-gru-seed1-fold2')!;
    expect(parseExperiment(trialExperiment(plan, trial)).split).toEqual({ test: 0.2, folds: 3, fold: 2 });
    expect(() => planAblation(ablation, { seeds: 0 })).toThrow(/--seeds must be a positive integer, got 0/);
    expect(() => planAblation(ablation, { folds: 1.5 })).toThrow(/--folds must be a positive integer/);
  });

  it('expands dotted keys of a patch into nested objects', () => {
    expect(expandPatch({ 'model.decoder': { name: 'gru' }, 'train.epochs': 3, train: { batchSize: 2 } })).toEqual({
      model: { decoder: { name: 'gru' } },
      train: { epochs: 3, batchSize: 2 },
    });
    expect(() => expandPatch({ 'model..decoder': 1 })).toThrow(/'model\.\.decoder': empty path segment/);
  });

  it('lists a patch by dot path down to components, and expands back to the same patch', () => {
    const patch = { model: { encoder: { name: 'none', pooling: 'max' }, decoder: { hidden: 8 } }, train: { epochs: 3 }, data: { preprocess: [{ name: 'flip' }] } };
    const paths = patchPaths(patch);
    expect(paths).toEqual({ 'model.encoder': { name: 'none', pooling: 'max' }, 'model.decoder.hidden': 8, 'train.epochs': 3, 'data.preprocess': [{ name: 'flip' }] });
    expect(expandPatch(paths)).toEqual(patch);
  });
});

describe('shards', () => {
  const trials = planAblation(ablation).trials;

  it('every trial lands in exactly one shard, the same one every time', () => {
    for (const count of [1, 2, 4, 7, 27, 40]) {
      const shards = Array.from({ length: count }, (_, index) => shardTrials(trials, { index, count }).map((t) => t.name));
      const all = shards.flat();
      expect(all).toHaveLength(trials.length);
      expect(new Set(all)).toEqual(new Set(trials.map((t) => t.name)));
      expect(Array.from({ length: count }, (_, index) => shardTrials(trials, { index, count }).map((t) => t.name))).toEqual(shards);
      // Round-robin: sizes differ by at most one.
      const sizes = shards.map((s) => s.length);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }
  });

  it('parses --shard i/n counting from 1, and says what it expects otherwise', () => {
    expect(parseShard('1/4')).toEqual({ index: 0, count: 4 });
    expect(parseShard('4/4')).toEqual({ index: 3, count: 4 });
    for (const bad of ['0/4', '5/4', '1/0', '2', 'a/b', '-1/3', '1/2/3', '']) {
      expect(() => parseShard(bad)).toThrow(`--shard expects i/n with 1 <= i <= n (e.g. 2/4 for the second of four machines), got '${bad}'`);
    }
  });

  it('reads a SLURM job array: 0-based, 1-based and stepped arrays', () => {
    expect(shardFromEnv({})).toBeUndefined();
    expect(shardFromEnv({ SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_COUNT: '4', SLURM_ARRAY_TASK_MIN: '0' })).toEqual({ index: 0, count: 4 });
    expect(shardFromEnv({ SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_COUNT: '4', SLURM_ARRAY_TASK_MIN: '1' })).toEqual({ index: 3, count: 4 });
    expect(shardFromEnv({ SLURM_ARRAY_TASK_ID: '6', SLURM_ARRAY_TASK_COUNT: '4', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_STEP: '2' })).toEqual({ index: 3, count: 4 });
    expect(() => shardFromEnv({ SLURM_ARRAY_TASK_ID: '2' })).toThrow(/SLURM_ARRAY_TASK_COUNT is not set/);
    expect(() => shardFromEnv({ SLURM_ARRAY_TASK_ID: '5', SLURM_ARRAY_TASK_COUNT: '4', SLURM_ARRAY_TASK_MIN: '1' })).toThrow(
      /SLURM_ARRAY_TASK_ID=5 is not one of the 4 array tasks/,
    );
    expect(() => shardFromEnv({ SLURM_ARRAY_TASK_ID: 'x', SLURM_ARRAY_TASK_COUNT: '4' })).toThrow(/SLURM_ARRAY_TASK_ID must be an integer, got 'x'/);
  });
});

describe('ablation validation', () => {
  it('names the field that is wrong', () => {
    expect(() => parseAblation(ablationWith({ reference: 'gru-lsmt' }))).toThrow(/reference: 'gru-lsmt' is not a variant; variants: gru-lstm, gru-gru/);
    expect(() => parseAblation(ablationWith({ seeds: 0 }))).toThrow(/seeds: /);
    expect(() => parseAblation(ablationWith({ seeds: [1, 1] }))).toThrow(/seeds: .*seeds must not repeat/);
    expect(() => parseAblation(ablationWith({ variants: {} }))).toThrow(/variants: give at least one variant/);
    expect(() => parseAblation(ablationWith({ variants: { 'a b': {} }, reference: 'a b' }))).toThrow(/variants\.a b: variant name 'a b': use letters/);
    expect(() => parseAblation(ablationWith({ variants: { a: 'gru' }, reference: 'a' }))).toThrow(/variants\.a: .*expected record/);
    expect(() => parseAblation(ablationWith({ bootstrap: { resamples: 1000, level: 0.9 } }))).toThrow(/bootstrap.*level/s);
    expect(() => parseAblation(ablationWith({ seed: 3 }))).toThrow(/seed/);
    expect(() => parseAblation({ ...(lstmVsGru as AblationInput), name: undefined })).toThrow(/name: required when the ablation does not come from a file/);
  });

  it('names the variant whose merged experiment is invalid, before anything runs', () => {
    const broken = parseAblation(ablationWith({ variants: { ok: {}, short: { 'train.epochs': 0 } }, reference: 'ok' }));
    expect(() => planAblation(broken)).toThrow(/variant 'short'.*train\.epochs/s);
    const typo = parseAblation(ablationWith({ variants: { ok: {}, typo: { model: { decoder: { name: 'gru', hiden: 8 } } } }, reference: 'ok' }));
    expect(() => checkPlan(planAblation(typo))).toThrow(/variant 'typo'.*model\.decoder 'gru'.*hiden/s);
    const unknown = parseAblation(ablationWith({ variants: { ok: {}, tcn: { model: { encoder: { name: 'tcn' } } } }, reference: 'ok' }));
    expect(() => checkPlan(planAblation(unknown))).toThrow(/variant 'tcn'.*unknown encoder 'tcn'/s);
    expect(() => checkPlan(planAblation(ablation))).not.toThrow();
  });
});
