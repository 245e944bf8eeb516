import { describe, expect, it } from 'vitest';
import {
  fbetaScore,
  precisionRecallFbeta,
  precisionRecallFbetaPerClass,
  precisionScore,
  recallScore,
  type FbetaAverage,
} from '../../src/metrics/fbeta.ts';
import { fromRows } from '../../src/metrics/matrix.ts';
import { collectWarnings, loadFixture, scoresOf, targetsOf, type FixtureCase } from './fixtures.ts';

interface Prf {
  precision: number;
  recall: number;
  fbeta: number;
}
interface Expected extends Record<FbetaAverage, Prf> {
  perClass: { precision: number[]; recall: number[]; fbeta: number[]; support: number[] };
}
type Case = FixtureCase<Expected> & {
  threshold: number | number[];
  beta: number;
  zeroDivision: 0 | 1;
  keptColumns?: number[];
  expectedExcludeAbsent?: Expected;
};

const cases = loadFixture<Case>('fbeta');
const averages: FbetaAverage[] = ['samples', 'micro', 'macro', 'weighted'];

describe('F-beta, precision, recall match scikit-learn', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_, c) => {
    const options = { beta: c.beta, threshold: c.threshold, zeroDivision: c.zeroDivision };
    for (const average of averages) {
      const actual = precisionRecallFbeta(scoresOf(c), targetsOf(c), average, options);
      expect(actual.precision, `${average} precision`).toBeCloseTo(c.expected[average].precision, 12);
      expect(actual.recall, `${average} recall`).toBeCloseTo(c.expected[average].recall, 12);
      expect(actual.fbeta, `${average} fbeta`).toBeCloseTo(c.expected[average].fbeta, 12);
      expect(fbetaScore(scoresOf(c), targetsOf(c), average, options)).toBeCloseTo(c.expected[average].fbeta, 12);
      expect(precisionScore(scoresOf(c), targetsOf(c), average, options)).toBeCloseTo(c.expected[average].precision, 12);
      expect(recallScore(scoresOf(c), targetsOf(c), average, options)).toBeCloseTo(c.expected[average].recall, 12);
    }
    const perClass = precisionRecallFbetaPerClass(scoresOf(c), targetsOf(c), options);
    expect(perClass.support).toEqual(c.expected.perClass.support);
    for (const key of ['precision', 'recall', 'fbeta'] as const) {
      perClass[key].forEach((value, j) => expect(value, `${key}[${j}]`).toBeCloseTo(c.expected.perClass[key][j], 12));
    }
  });

  it.each(cases.filter((c) => c.expectedExcludeAbsent).map((c) => [c.name, c] as const))(
    "absentClasses 'exclude' scores only the classes with a positive target: %s",
    (_, c) => {
      const { warn, messages } = collectWarnings();
      const options = { beta: c.beta, threshold: c.threshold, zeroDivision: c.zeroDivision, absentClasses: 'exclude' as const, warn };
      for (const average of averages) {
        const actual = precisionRecallFbeta(scoresOf(c), targetsOf(c), average, options);
        expect(actual.fbeta, average).toBeCloseTo(c.expectedExcludeAbsent![average].fbeta, 12);
      }
      expect(messages.some((m) => m.includes("absentClasses 'exclude'"))).toBe(true);
      const perClass = precisionRecallFbetaPerClass(scoresOf(c), targetsOf(c), options);
      perClass.fbeta.forEach((value, j) => {
        const k = c.keptColumns!.indexOf(j);
        if (k < 0) expect(value).toBeNull();
        else expect(value).toBeCloseTo(c.expectedExcludeAbsent!.perClass.fbeta[k], 12);
      });
    },
  );
});

describe('zero division policy', () => {
  // Row 0: nothing true, nothing predicted. Row 1: one true label, found.
  const scores = fromRows([[0.1, 0.2], [0.9, 0.1]], (n) => new Float32Array(n));
  const targets = fromRows([[0, 0], [1, 0]], (n) => new Uint8Array(n));

  it('scores an empty row by the chosen value, quietly when chosen', () => {
    const { warn, messages } = collectWarnings();
    expect(fbetaScore(scores, targets, 'samples', { zeroDivision: 0, warn })).toBe(0.5);
    expect(fbetaScore(scores, targets, 'samples', { zeroDivision: 1, warn })).toBe(1);
    expect(messages).toEqual([]);
  });

  it("'warn' scores 0 and names the rows", () => {
    const { warn, messages } = collectWarnings();
    expect(fbetaScore(scores, targets, 'samples', { warn })).toBe(0.5);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(/1 row\(s\) with no true and no predicted positives \(row 0\)/);
  });

  it('names classes by name in warnings', () => {
    const { warn, messages } = collectWarnings();
    fbetaScore(scores, targets, 'macro', { warn, classNames: ['cat', 'dog'] });
    expect(messages[0]).toContain('(dog)');
  });
});

describe('bad input', () => {
  const scores = fromRows([[0.1, 0.2]], (n) => new Float32Array(n));
  it('names a non-binary target', () => {
    const targets = fromRows([[0, 2]], (n) => new Uint8Array(n));
    expect(() => fbetaScore(scores, targets)).toThrow(/row 0, column 1 is 2, expected 0 or 1/);
  });
  it('names a shape mismatch', () => {
    const targets = fromRows([[0, 1, 0]], (n) => new Uint8Array(n));
    expect(() => fbetaScore(scores, targets)).toThrow(/predictions are \[1, 2\] but targets are \[1, 3\]/);
  });
  it('names a non-finite prediction', () => {
    const bad = fromRows([[0.1, Number.NaN]], (n) => new Float32Array(n));
    expect(() => fbetaScore(bad, fromRows([[0, 1]], (n) => new Uint8Array(n)))).toThrow(/row 0, column 1 is NaN/);
  });
  it('rejects per-class thresholds of the wrong length', () => {
    expect(() => fbetaScore(scores, fromRows([[0, 1]], (n) => new Uint8Array(n)), 'samples', { threshold: [0.5] })).toThrow(
      /1 thresholds for 2 classes/,
    );
  });
});
