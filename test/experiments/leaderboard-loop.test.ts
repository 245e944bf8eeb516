import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setLogLevel } from '../../src/core/log.ts';
import { parseCsv } from '../../src/data/datasets/csv.ts';
import { writeDemoDataset } from '../../src/data/demo/dataset.ts';
import { runCommand } from '../../src/cli/commands/run.ts';
import { predictCommand } from '../../src/cli/commands/predict.ts';
import { runCrossValidationFold } from '../../src/experiments/cross-validate.ts';
import { loadExperimentFile } from '../../src/experiments/load.ts';
import { readCrossValidationSummary } from '../../src/runs/cross-validation-summary.ts';
import { readAblationPlan } from '../../src/runs/ablation-plan.ts';
import { readPredictionsFile } from '../../src/runs/predictions.ts';
import { readRunThresholds } from '../../src/runs/run-dir.ts';
import { readRunMetrics } from '../../src/runs/metrics-file.ts';
import { scoreSubmission } from '../../src/metrics/submission/score.ts';
import { fbetaScore } from '../../src/metrics/fbeta.ts';
import { matrix } from '../../src/metrics/matrix.ts';
import { tinyExperiment } from '../train/helpers.ts';
import { RSNA_CLASSES, rsnaF2 } from '../helpers/rsna-score.ts';

/**
 * The README's "Reproduce a leaderboard score" loop on tiny demo data: cross-validated training (`run --folds
 * all`), the fold ensemble predicting every stage_2_test slice into an RSNA submission, and its Public/Private
 * score, which must equal an independent computation (and scikit-learn's, where python3-sklearn is installed).
 */
let root: string;
let data: string;
let out: string;
let file: string;
let cvDir: string;
const quietly = async <T>(work: () => Promise<T>): Promise<{ value: T; printed: string }> => {
  const printed: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (printed.push(String(chunk)), true));
  try {
    return { value: await work(), printed: printed.join('') };
  } finally {
    spy.mockRestore();
  }
};

beforeAll(async () => {
  setLogLevel('error');
  root = mkdtempSync(join(tmpdir(), 'sliceseq-loop-'));
  data = join(root, 'demo-data');
  out = join(root, 'runs');
  writeDemoDataset(data, { patients: 12, seed: 6, slices: [3, 5], size: 32, testPatients: 4 });
  const experiment = tinyExperiment(data, { name: 'loop', seed: 2, train: { epochs: 1, batchSize: 4 }, split: { test: 0.25, folds: 3, fold: 0 } });
  experiment.data = { ...experiment.data!, level: 'slice', maxSlices: 3 };
  file = join(root, 'loop.mts');
  writeFileSync(file, `export default ${JSON.stringify(experiment)};\n`);
  cvDir = join(out, 'loop-seed2-cv');
}, 60_000);

afterAll(() => {
  setLogLevel('info');
  rmSync(root, { recursive: true, force: true });
});

describe('reproducing a leaderboard score', () => {
  it('cross-validates: every fold, out-of-fold thresholds, the fold ensemble on the test split, a summary', async () => {
    const { printed } = await quietly(() => runCommand(file, { out, set: [], folds: 'all' }));
    expect(printed).toMatch(/out-of-fold \(\d+ rows\): F2 [\d.]+, tuned [\d.]+ \[[\d.]+, [\d.]+\] \(95%, \d+ patients\)/);
    expect(printed).toContain('zero division 1');
    const plan = readAblationPlan(cvDir);
    expect(plan.trials.map((t) => t.name)).toEqual(['loop-seed2-fold0', 'loop-seed2-fold1', 'loop-seed2-fold2']);

    // Out of fold: every training slice once, pooled from the folds' validation splits.
    const folds = await Promise.all(plan.trials.map((t) => readPredictionsFile(join(cvDir, t.name, 'predictions-oof.csv'))));
    const pooled = await readPredictionsFile(join(cvDir, 'predictions-oof.csv'));
    expect(pooled.ids).toEqual(folds.flatMap((f) => f.ids));
    expect(new Set(pooled.ids).size).toBe(pooled.ids.length);
    const thresholds = readRunThresholds(cvDir);
    expect(thresholds.fittedOn).toEqual({ source: 'out-of-fold', rows: pooled.ids.length });
    const metrics = readRunMetrics(cvDir);
    const k = RSNA_CLASSES.length;
    const scores = matrix(Float64Array.from(pooled.scores.data), pooled.ids.length, k);
    const targets = matrix(Float64Array.from(pooled.truth!.values.data), pooled.ids.length, k);
    const tuned = fbetaScore(scores, targets, 'samples', { beta: 2, threshold: thresholds.thresholds, zeroDivision: 1, warn: () => {} });
    expect((metrics.val as { f2_tuned: { samples: number } }).f2_tuned.samples).toBeCloseTo(tuned, 12);

    // The test split: the mean of the fold models' probabilities, row by row.
    const tests = await Promise.all(plan.trials.map((t) => readPredictionsFile(join(cvDir, t.name, 'predictions-test.csv'))));
    const ensemble = await readPredictionsFile(join(cvDir, 'predictions-test.csv'));
    const row = ensemble.ids.indexOf(tests[2].ids[0]);
    expect(ensemble.scores.data[row * k + 5]).toBeCloseTo((tests[0].scores.data[tests[0].ids.indexOf(ensemble.ids[row]) * k + 5] + tests[1].scores.data[tests[1].ids.indexOf(ensemble.ids[row]) * k + 5] + tests[2].scores.data[5]) / 3, 5);
    const summary = readCrossValidationSummary(cvDir);
    expect(summary.folds).toHaveLength(3);
    expect(summary.ensemble!.members).toBe(3);
    expect(existsSync(join(cvDir, 'report.html'))).toBe(true);

    await expect(runCommand(file, { out, set: [], folds: '3' })).rejects.toThrow(/--folds takes 'all'/);
    await expect(runCommand(file, { out, set: [], jobs: 2 })).rejects.toThrow(/--jobs, --shard and --trial go with --folds all/);
    // What a --jobs child runs: one fold run of the same plan (finished here, so skipped); an unknown one is refused.
    const input = await loadExperimentFile(file);
    expect((await runCrossValidationFold(input, { out, trial: 'loop-seed2-fold1' })).status).toBe('skipped');
    await expect(runCrossValidationFold(input, { out, trial: 'loop-seed2-fold7' })).rejects.toThrow(/has no fold run 'loop-seed2-fold7' \(loop-seed2-fold0, loop-seed2-fold1, loop-seed2-fold2\)/);
    // Resumable: a second run finds every fold finished and only pools again.
    const again = await quietly(() => runCommand(file, { out, set: [], folds: 'all' }));
    expect(again.printed).toContain(`cross-validation: ${cvDir}`);
  }, 300_000);

  it('predicts every test slice with the fold ensemble into a submission whose Public/Private F2 equals an independent score', async () => {
    const submission = join(root, 'submission.csv');
    const { value: result } = await quietly(() =>
      predictCommand([cvDir], { out: join(root, 'test-predictions.csv'), split: 'test', weights: 'best', tta: 'none', thresholds: 'tuned', submission, sampleSubmission: join(data, 'stage_2_sample_submission.csv') }),
    );
    expect(result.members).toHaveLength(3);
    const text = readFileSync(submission, 'utf8');
    expect(text.split('\n')[0]).toBe('ID,Label');
    const solution = join(data, 'solution.csv');
    const score = scoreSubmission(parseCsv(text, submission), parseCsv(readFileSync(solution, 'utf8'), solution));
    const expected = rsnaF2(text, solution);
    expect(score.public).toBeCloseTo(expected.public, 12);
    expect(score.private).toBeCloseTo(expected.private, 12);

    const sklearn = spawnSync('/usr/bin/python3', ['scripts/score-submission.py', submission, solution], { encoding: 'utf8' });
    if (sklearn.status !== 0) {
      // Not a failure of sliceseq: the cross-check needs Debian's python3-sklearn.
      console.warn(`scikit-learn cross-check skipped (python3-sklearn not available): ${sklearn.stderr || sklearn.error?.message}`);
      return;
    }
    const reference = JSON.parse(sklearn.stdout) as { f2: Record<string, number>; wlogloss: Record<string, number> };
    expect(score.public).toBeCloseTo(reference.f2.public, 12);
    expect(score.private).toBeCloseTo(reference.f2.private, 12);
    const wlogloss = scoreSubmission(parseCsv(text, submission), parseCsv(readFileSync(solution, 'utf8'), solution), { metric: 'wlogloss' });
    expect(wlogloss.public).toBeCloseTo(reference.wlogloss.public, 9);
    expect(wlogloss.private).toBeCloseTo(reference.wlogloss.private, 9);
  }, 120_000);
});
