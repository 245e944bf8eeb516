import { describe, expect, it } from 'vitest';
import { averagePrecisionPerClass, averagePrecisionScore } from '../../src/metrics/average-precision.ts';
import { fromRows } from '../../src/metrics/matrix.ts';
import { rocAucPerClass, rocAucScore } from '../../src/metrics/roc-auc.ts';
import { close, collectWarnings, loadFixture, scoresOf, targetsOf, type FixtureCase } from './fixtures.ts';

type Case = FixtureCase<{ perClass: (number | null)[]; macro: number | null; weighted: number | null; micro: number | null }>;

const families = [
  { fixture: 'roc-auc', perClass: rocAucPerClass, averaged: rocAucScore },
  { fixture: 'average-precision', perClass: averagePrecisionPerClass, averaged: averagePrecisionScore },
];

describe.each(families)('$fixture matches scikit-learn', ({ fixture, perClass, averaged }) => {
  it.each(loadFixture<Case>(fixture).map((c) => [c.name, c] as const))('%s', (_, c) => {
    const { warn, messages } = collectWarnings();
    const values = perClass(scoresOf(c), targetsOf(c), { warn });
    values.forEach((value, j) => expect(close(value, c.expected.perClass[j]), `class ${j}: ${value} vs ${c.expected.perClass[j]}`).toBe(true));
    // Undefined classes are reported, never silently dropped.
    expect(messages.length > 0).toBe(c.expected.perClass.includes(null));
    for (const average of ['macro', 'weighted', 'micro'] as const) {
      const value = averaged(scoresOf(c), targetsOf(c), average, { warn });
      expect(close(value, c.expected[average]), `${average}: ${value} vs ${c.expected[average]}`).toBe(true);
    }
  });
});

describe('undefined classes', () => {
  it('names the class and why in the warning', () => {
    const scores = fromRows([[0.2, 0.7], [0.8, 0.4]], (n) => new Float32Array(n));
    const targets = fromRows([[0, 1], [1, 1]], (n) => new Uint8Array(n));
    const { warn, messages } = collectWarnings();
    expect(rocAucPerClass(scores, targets, { warn, classNames: ['a', 'b'] })).toEqual([1, null]);
    expect(messages[0]).toMatch(/ROC-AUC: undefined for 1 class\(es\).*b \(no negative target\)/);
  });
});
