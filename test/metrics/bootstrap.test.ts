import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import { bootstrapInterval, pairedBootstrap, type ScoreFunction } from '../../src/metrics/bootstrap.ts';
import { fbetaScore } from '../../src/metrics/fbeta.ts';
import { matrix, sumOf, type Matrix } from '../../src/metrics/matrix.ts';
import { rocAucScore } from '../../src/metrics/roc-auc.ts';
import { collectWarnings } from './fixtures.ts';

function problem(rows: number, cols: number, noise: number, seed: number): { scores: Matrix<Float32Array>; targets: Matrix<Uint8Array> } {
  const rng = new Rng(seed);
  const targets = new Uint8Array(rows * cols);
  const scores = new Float32Array(rows * cols);
  for (let i = 0; i < targets.length; i++) {
    targets[i] = rng.bernoulli(0.3) ? 1 : 0;
    scores[i] = (1 - noise) * targets[i] + noise * rng.float();
  }
  return { scores: matrix(scores, rows, cols), targets: matrix(targets, rows, cols) };
}

const meanF2: ScoreFunction = (p, t, warn) => fbetaScore(p, t, 'samples', { warn, zeroDivision: 0 });
const macroAuc: ScoreFunction = (p, t, warn) => rocAucScore(p, t, 'macro', { warn });

describe('bootstrap over patients', () => {
  const { scores, targets } = problem(120, 3, 0.7, 1);

  it('is reproducible from its seed and changes with it', () => {
    const a = bootstrapInterval(meanF2, scores, targets, { seed: 7, resamples: 200 });
    expect(bootstrapInterval(meanF2, scores, targets, { seed: 7, resamples: 200 })).toEqual(a);
    expect(bootstrapInterval(meanF2, scores, targets, { seed: 8, resamples: 200 }).lower).not.toBe(a.lower);
    expect(a.lower!).toBeLessThan(a.estimate!);
    expect(a.upper!).toBeGreaterThan(a.estimate!);
    expect(a).toMatchObject({ resamples: 200, undefinedResamples: 0, patients: 120, confidence: 0.95, seed: 7 });
  });

  it('has the standard error of a mean that theory predicts', () => {
    const n = 400;
    const rng = new Rng(3);
    const values = Float32Array.from({ length: n }, () => rng.float());
    const mean = values.reduce((s, v) => s + v, 0) / n;
    const sd = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / n);
    const columnMean: ScoreFunction = (p) => sumOf(p.data) / p.rows;
    const result = bootstrapInterval(columnMean, matrix(values, n, 1), matrix(new Uint8Array(n), n, 1), { seed: 1, resamples: 2000 });
    expect(result.std! / (sd / Math.sqrt(n))).toBeGreaterThan(0.9);
    expect(result.std! / (sd / Math.sqrt(n))).toBeLessThan(1.1);
  });

  it('draws whole patients: every row of a drawn patient comes along', () => {
    const patients = Array.from({ length: 120 }, (_, r) => `p${Math.floor(r / 3)}`);
    const seen: number[] = [];
    const rowCount: ScoreFunction = (p) => (seen.push(p.rows), p.rows);
    const result = bootstrapInterval(rowCount, scores, targets, { seed: 1, resamples: 50, patients });
    expect(result.patients).toBe(40);
    expect(seen.every((count) => count === 120)).toBe(true);
    const uneven = Array.from({ length: 120 }, (_, r) => (r < 100 ? 'big' : `small${r}`));
    seen.length = 0;
    bootstrapInterval(rowCount, scores, targets, { seed: 1, resamples: 50, patients: uneven });
    expect(new Set(seen).size).toBeGreaterThan(1);
  });

  it('counts resamples where the metric is undefined and warns once', () => {
    const tiny = problem(6, 2, 0.5, 11);
    const { warn, messages } = collectWarnings();
    const result = bootstrapInterval(macroAuc, tiny.scores, tiny.targets, { seed: 2, resamples: 300, warn });
    expect(result.undefinedResamples).toBeGreaterThan(0);
    expect(messages.filter((m) => m.startsWith('bootstrap:'))).toHaveLength(1);
  });

  it('rejects patient ids that do not match the rows', () => {
    expect(() => bootstrapInterval(meanF2, scores, targets, { seed: 1, patients: ['a'] })).toThrow(/1 patient ids for 120 rows/);
  });
});

describe('paired bootstrap', () => {
  const good = problem(150, 3, 0.5, 21);
  const worse = problem(150, 3, 0.95, 22).scores;

  it('finds no difference between a model and itself', () => {
    const result = pairedBootstrap(meanF2, good.scores, good.scores, good.targets, { seed: 1, resamples: 200 });
    expect(result).toMatchObject({ estimate: 0, lower: 0, upper: 0, pValue: 1 });
  });

  it('finds a real difference, with the sign of a − b', () => {
    const ab = pairedBootstrap(macroAuc, good.scores, worse, good.targets, { seed: 1, resamples: 300 });
    expect(ab.estimate!).toBeCloseTo(ab.a! - ab.b!, 12);
    expect(ab.lower!).toBeGreaterThan(0);
    expect(ab.pValue!).toBeLessThan(0.01);
    const ba = pairedBootstrap(macroAuc, worse, good.scores, good.targets, { seed: 1, resamples: 300 });
    expect(ba.estimate!).toBeCloseTo(-ab.estimate!, 12);
    expect(ba.upper!).toBeCloseTo(-ab.lower!, 12);
    expect(ba.pValue).toBe(ab.pValue);
  });
});
