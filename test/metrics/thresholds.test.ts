import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import { fbetaScore, type FbetaAverage } from '../../src/metrics/fbeta.ts';
import { binarize, column, fromRows, matrix, type Matrix } from '../../src/metrics/matrix.ts';
import { applyThresholds, fitThresholds, loadThresholds, saveThresholds } from '../../src/metrics/thresholds.ts';

const rows = 60;
const cols = 4;
const classes = ['a', 'b', 'c', 'd'];

function problem(seed: number): { scores: Matrix<Float32Array>; targets: Matrix<Uint8Array> } {
  const rng = new Rng(seed);
  const targets = new Uint8Array(rows * cols);
  const scores = new Float32Array(rows * cols);
  for (let i = 0; i < targets.length; i++) {
    targets[i] = rng.bernoulli(0.1 + 0.1 * (i % cols)) ? 1 : 0;
    // Coarse, informative, tied scores: the interesting case for a threshold search.
    scores[i] = Math.round((0.35 * targets[i] + 0.65 * rng.float()) * 40) / 40;
  }
  return { scores: matrix(scores, rows, cols), targets: matrix(targets, rows, cols) };
}

/** Every threshold that gives a different split of `values`: each distinct value, and one above them all. */
function candidates(values: ArrayLike<number>): number[] {
  return [...new Set(Array.from(values)), 2];
}

const zeroDivision = 0 as const;

describe('threshold search', () => {
  it.each(['samples', 'micro', 'macro', 'weighted'] as FbetaAverage[])('a global threshold is the exact optimum (%s)', (average) => {
    const { scores, targets } = problem(1);
    const set = fitThresholds(scores, targets, { source: 'validation', classes, kind: 'global', average, zeroDivision });
    const best = Math.max(...candidates(scores.data).map((t) => fbetaScore(scores, targets, average, { threshold: t, zeroDivision })));
    expect(set.score.tuned).toBeCloseTo(best, 12);
    expect(set.score.tuned).toBeGreaterThanOrEqual(set.score.untuned);
    expect(new Set(set.thresholds).size).toBe(1);
  });

  it('per-class thresholds for macro F2 maximise each class on its own', () => {
    const { scores, targets } = problem(2);
    const set = fitThresholds(scores, targets, { source: 'out-of-fold', classes, average: 'macro', zeroDivision });
    for (let j = 0; j < cols; j++) {
      const single = (t: number) =>
        fbetaScore(matrix(column(scores, j), rows, 1), matrix(column(targets, j), rows, 1), 'macro', { threshold: t, zeroDivision });
      const best = Math.max(...candidates(column(scores, j)).map(single));
      expect(single(set.thresholds[j]), `class ${j}`).toBeCloseTo(best, 12);
    }
  });

  it.each(['samples', 'micro'] as FbetaAverage[])('per-class thresholds for %s F2 are a coordinate-wise optimum', (average) => {
    const { scores, targets } = problem(3);
    const set = fitThresholds(scores, targets, { source: 'validation', classes, average, zeroDivision });
    expect(set.score.tuned).toBeGreaterThan(set.score.untuned);
    expect(fbetaScore(scores, targets, average, { threshold: set.thresholds, zeroDivision })).toBeCloseTo(set.score.tuned, 12);
    for (let j = 0; j < cols; j++) {
      for (const t of candidates(column(scores, j))) {
        const moved = [...set.thresholds];
        moved[j] = t;
        expect(fbetaScore(scores, targets, average, { threshold: moved, zeroDivision })).toBeLessThanOrEqual(set.score.tuned + 1e-12);
      }
    }
  });

  it('puts the threshold between the last positive score and the next', () => {
    // Class 0 is perfectly separable: positives 0.8 and 0.7, negatives 0.3 and 0.2.
    const scores = fromRows([[0.8], [0.7], [0.3], [0.2]], (n) => new Float64Array(n));
    const targets = fromRows([[1], [1], [0], [0]], (n) => new Uint8Array(n));
    const set = fitThresholds(scores, targets, { source: 'validation', classes: ['x'], average: 'macro', zeroDivision });
    expect(set.thresholds[0]).toBeCloseTo(0.5, 12);
    expect(Array.from(binarize(scores, set.thresholds).data)).toEqual([1, 1, 0, 0]);
  });

  it('separates adjacent doubles', () => {
    const low = 0.5;
    const high = 0.5 + Number.EPSILON / 2;
    const scores = fromRows([[high], [low]], (n) => new Float64Array(n));
    const targets = fromRows([[1], [0]], (n) => new Uint8Array(n));
    const set = fitThresholds(scores, targets, { source: 'validation', classes: ['x'], average: 'macro', zeroDivision });
    expect(Array.from(binarize(scores, set.thresholds).data)).toEqual([1, 0]);
  });

  it('is deterministic and records what it was fitted on', () => {
    const { scores, targets } = problem(4);
    const a = fitThresholds(scores, targets, { source: 'validation', classes, zeroDivision });
    const b = fitThresholds(scores, targets, { source: 'validation', classes, zeroDivision });
    expect(a).toEqual(b);
    expect(a.fittedOn).toEqual({ source: 'validation', rows });
    expect(a.objective).toEqual({ beta: 2, average: 'samples', zeroDivision: 0 });
  });

  it('refuses a source other than validation or out-of-fold', () => {
    const { scores, targets } = problem(5);
    expect(() => fitThresholds(scores, targets, { source: 'test' as 'validation', classes })).toThrow(/source/);
  });
});

describe('saved thresholds', () => {
  it('round-trip through a file and apply to test predictions', () => {
    const { scores, targets } = problem(6);
    const set = fitThresholds(scores, targets, { source: 'validation', classes, zeroDivision });
    const path = join(mkdtempSync(join(tmpdir(), 'thresholds-')), 'thresholds.json');
    saveThresholds(path, set);
    const loaded = loadThresholds(path);
    expect(loaded).toEqual(set);
    const test = problem(7).scores;
    expect(applyThresholds(test, loaded, classes)).toEqual(binarize(test, set.thresholds));
  });

  it('refuse predictions whose classes differ', () => {
    const { scores, targets } = problem(8);
    const set = fitThresholds(scores, targets, { source: 'validation', classes, zeroDivision });
    expect(() => applyThresholds(scores, set, ['a', 'b', 'd', 'c'])).toThrow(/fitted for classes \[a, b, c, d\] but the predictions have \[a, b, d, c\]/);
  });

  it('name the bad field of a broken file', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'thresholds-')), 'thresholds.json');
    const { scores, targets } = problem(9);
    const set = fitThresholds(scores, targets, { source: 'validation', classes, zeroDivision });
    writeFileSync(path, JSON.stringify({ ...set, thresholds: [0.5] }));
    expect(() => loadThresholds(path)).toThrow(/thresholds: 1 thresholds for 4 classes/);
  });
});
