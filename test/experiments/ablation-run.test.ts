import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import lstmVsGru from '../../experiments/ablation-lstm-vs-gru.ts';
import { parseAblation } from '../../src/experiments/ablation.ts';
import { runAblation, type AblationRun } from '../../src/experiments/ablate.ts';
import { summarizeAblation, writeAblationSummary, type AblationSummary } from '../../src/experiments/summarize.ts';
import { readAblationSummary } from '../../src/runs/ablation-summary.ts';
import { tinyDemoData, tinyExperiment } from '../train/helpers.ts';
import { defaultTestBackend } from '../helpers/backend.ts';

const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));
const statuses = (run: AblationRun) => Object.fromEntries(run.outcomes.map((o) => [o.trial.name, o.status]));

describe('the quick LSTM-vs-GRU ablation on tiny data', () => {
  let root: string;
  let data: string;
  let first: AblationRun;
  let summary: AblationSummary;
  const ablation = parseAblation(lstmVsGru);
  const options = () => ({ out: join(root, 'runs'), data, quick: true, backend: defaultTestBackend });

  beforeAll(async () => {
    ({ root, data } = await tinyDemoData());
    first = await runAblation(ablation, options());
    summary = await writeAblationSummary(first.dir);
  });

  it('runs all nine variants and writes a summary with a paired comparison per variant', () => {
    expect(first.dir).toBe(join(root, 'runs', 'ablation-lstm-vs-gru'));
    expect(first.outcomes.map((o) => o.status)).toEqual(Array(9).fill('finished'));
    expect(first.complete).toBe(true);
    expect(readJson(join(first.dir, 'ablation-summary.json'))).toEqual(JSON.parse(JSON.stringify(summary)));
    expect(summary).toMatchObject({ name: 'ablation-lstm-vs-gru', reference: 'gru-lstm', quick: true, seeds: [0], complete: true, trials: { planned: 9, finished: 9 } });
    expect(summary.metrics).toEqual(['f2_tuned.samples', 'f2_tuned.micro', 'f2_tuned.macro', 'auc.macro']);
    const reference = summary.variants.find((v) => v.isReference)!;
    expect(reference.name).toBe('gru-lstm');
    expect(reference.pairing).toBeNull();
    expect(reference.metrics['f2_tuned.samples'].vsReference).toBeUndefined();
    for (const variant of summary.variants.filter((v) => !v.isReference)) {
      expect(variant.pairing!.pairs).toEqual([{ seed: 0, fold: 0 }]);
      expect(variant.pairing!.rows).toBeGreaterThan(variant.pairing!.patients); // slice-level rows, resampled by patient
      expect(variant.metrics['auc.macro'].vsReference).toBeUndefined();
      for (const key of ['f2_tuned.samples', 'f2_tuned.micro', 'f2_tuned.macro']) {
        const d = variant.metrics[key].vsReference!;
        // Scores recomputed from predictions-test.csv at the saved thresholds agree with the runs' own metrics.
        expect(d.variant).toBeCloseTo(variant.metrics[key].mean!, 4);
        expect(d.reference).toBeCloseTo(reference.metrics[key].mean!, 4);
        expect(d.difference).toBeCloseTo(d.variant! - d.reference!, 10);
        expect(d.lower!).toBeLessThanOrEqual(d.upper!);
        expect(d.pValue!).toBeGreaterThan(0);
        expect(d.pValue!).toBeLessThanOrEqual(1);
      }
    }
    const none = summary.variants.find((v) => v.name === 'none-dense')!;
    expect(none.overrides).toEqual({ 'model.encoder': { name: 'none', pooling: 'max' }, 'model.decoder': { name: 'dense' } });
    const metrics = readJson(join(first.dir, 'none-dense-seed0-fold0', 'metrics.json'));
    expect(none.trials[0]).toMatchObject({ trial: 'none-dense-seed0-fold0', runDir: 'none-dense-seed0-fold0', seed: 0, fold: 0 });
    expect(none.trials[0].values['f2_tuned.samples']).toBe(metrics.test.f2_tuned.samples);
    expect(none.trials[0].values['auc.macro']).toBe(metrics.test.auc.macro);
    const markdown = readFileSync(join(first.dir, 'ablation-summary.md'), 'utf8');
    expect(markdown).toContain('| **gru-lstm** (reference) | 1/1 |');
    expect(markdown).toContain('zero division 1 (a row with no true and no predicted label scores 1)');
    expect(summary.zeroDivision).toBe(1);
    expect(markdown.match(/^\| (gru|lstm|none)-/gm)).toHaveLength(8 + 8); // 8 other variants in each table
  });

  it('never runs a finished trial twice, and resumes an unfinished one', async () => {
    const metricsFile = join(first.dir, 'none-gru-seed0-fold0', 'metrics.json');
    const before = readJson(metricsFile);
    const modified = statSync(join(first.dir, 'gru-lstm-seed0-fold0', 'metrics.json')).mtimeMs;
    const again = await runAblation(ablation, options());
    expect(again.outcomes.map((o) => o.status)).toEqual(Array(9).fill('skipped'));
    expect(statSync(join(first.dir, 'gru-lstm-seed0-fold0', 'metrics.json')).mtimeMs).toBe(modified);

    // A trial that stopped before writing metrics.json continues from its checkpoint.
    rmSync(metricsFile);
    const resumed = await runAblation(ablation, options());
    expect(statuses(resumed)['none-gru-seed0-fold0']).toBe('finished');
    expect(resumed.outcomes.filter((o) => o.status === 'skipped')).toHaveLength(8);
    expect(resumed.outcomes.find((o) => o.status === 'finished')!.resumed).toBe(true);
    expect(readJson(metricsFile)).toEqual(before);
    const attempts = readJson(join(first.dir, 'none-gru-seed0-fold0', 'trial.json')).attempts;
    expect(attempts.map((a: { status: string; resumed: boolean }) => [a.status, a.resumed])).toEqual([['finished', false], ['finished', true]]);
    expect(readJson(join(first.dir, 'gru-lstm-seed0-fold0', 'trial.json')).attempts).toHaveLength(1);
  });
});

describe('sharded ablation', () => {
  it('two shards write one folder; --summarize merges them; a different plan is refused', async () => {
    const { root, data } = await tinyDemoData();
    const tensors = tf.memory().numTensors;
    const ablation = parseAblation({
      name: 'tiny-ablation',
      base: { ...tinyExperiment(data), backend: defaultTestBackend },
      variants: { gru: {}, dense: { 'model.decoder': { name: 'dense' } } },
      reference: 'gru',
      seeds: 2,
    });
    const out = join(root, 'shared');
    const shard1 = await runAblation(ablation, { out, shard: { index: 0, count: 2 } });
    const firstHalf = Object.keys(statuses(shard1));
    expect(Object.values(statuses(shard1))).toEqual(['finished', 'finished']);
    expect(shard1.complete).toBe(false);
    const partial = await summarizeAblation(shard1.dir);
    expect(partial).toMatchObject({ complete: false, trials: { planned: 4, finished: 2 } });
    expect(partial.variants.flatMap((v) => v.trials.map((t) => t.trial)).sort()).toEqual([...firstHalf].sort());

    const shard2 = await runAblation(ablation, { out, shard: { index: 1, count: 2 } });
    const secondHalf = Object.keys(statuses(shard2));
    expect(Object.values(statuses(shard2))).toEqual(['finished', 'finished']);
    expect([...firstHalf, ...secondHalf].sort()).toEqual(['dense-seed0-fold0', 'dense-seed1-fold0', 'gru-seed0-fold0', 'gru-seed1-fold0']);
    expect(shard2.complete).toBe(true);
    expect(tf.memory().numTensors).toBe(tensors);

    const summary = await writeAblationSummary(shard2.dir);
    expect(summary.complete).toBe(true);
    const [gru, dense] = summary.variants;
    expect(gru.trials.map((t) => t.trial)).toEqual(['gru-seed0-fold0', 'gru-seed1-fold0']);
    const key = 'f2_tuned.samples';
    expect(gru.metrics[key].std).not.toBeNull();
    expect(dense.pairing!.pairs).toEqual([{ seed: 0, fold: 0 }, { seed: 1, fold: 0 }]);
    // Patient-level rows, pooled over both seeds' test sets (each seed holds out its own patients).
    const testRows = (trial: string) => readJson(join(shard2.dir, trial, 'metrics.json')).test.rows as number;
    expect(dense.pairing!.rows).toBe(testRows('gru-seed0-fold0') + testRows('gru-seed1-fold0'));
    expect(dense.pairing!.patients).toBeLessThanOrEqual(dense.pairing!.rows);
    expect(dense.metrics[key].mean).toBeCloseTo((dense.trials[0].values[key]! + dense.trials[1].values[key]!) / 2, 12);
    // The HTML report reads this file.
    expect(() => readAblationSummary(shard2.dir)).not.toThrow();

    await expect(runAblation(ablation, { out, seeds: 3 })).rejects.toThrow(/ablation\.json holds another plan for this ablation \(differs in: seeds, trials\)/);
    expect(existsSync(join(shard2.dir, 'gru-seed2-fold0'))).toBe(false);
  });

  it('a failing trial is reported and recorded; the others still run', async () => {
    const { root, data } = await tinyDemoData();
    const ablation = parseAblation({
      name: 'with-a-failure',
      base: { ...tinyExperiment(data), backend: defaultTestBackend },
      variants: { lost: { 'data.dataset.root': join(root, 'nowhere') }, ok: {} },
      reference: 'ok',
      seeds: 1,
    });
    const run = await runAblation(ablation, { out: join(root, 'runs') });
    expect(statuses(run)).toEqual({ 'lost-seed0-fold0': 'failed', 'ok-seed0-fold0': 'finished' });
    expect(run.outcomes[0].error).toMatch(/nowhere/);
    const attempts = readJson(join(run.dir, 'lost-seed0-fold0', 'trial.json')).attempts;
    expect(attempts).toMatchObject([{ status: 'failed', error: expect.stringMatching(/nowhere/) }]);
    const summary = await summarizeAblation(run.dir);
    expect(summary.variants[0]).toMatchObject({ name: 'lost', trials: [], missing: ['lost-seed0-fold0'], pairing: null });
    expect(summary.variants[0].metrics['f2_tuned.samples']).toEqual({ mean: null, std: null });
  });
});
