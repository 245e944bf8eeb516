import { describe, expect, it } from 'vitest';
import { gradesFromValues, ordinalAccuracy, ordinalMae, quadraticWeightedKappa } from '../../src/metrics/ordinal.ts';
import { close, collectWarnings, loadFixture } from './fixtures.ts';

interface Case {
  name: string;
  levels: number;
  trueGrades: number[];
  predictedGrades: number[];
  expected: { accuracy: number; mae: number; qwk: number | null };
}

describe('ordinal metrics match scikit-learn', () => {
  it.each(loadFixture<Case>('ordinal').map((c) => [c.name, c] as const))('%s', (_, c) => {
    const { warn, messages } = collectWarnings();
    expect(ordinalAccuracy(c.trueGrades, c.predictedGrades)).toBeCloseTo(c.expected.accuracy, 12);
    expect(ordinalMae(c.trueGrades, c.predictedGrades)).toBeCloseTo(c.expected.mae, 12);
    const qwk = quadraticWeightedKappa(c.trueGrades, c.predictedGrades, c.levels, { warn });
    expect(close(qwk, c.expected.qwk), `${qwk} vs ${c.expected.qwk}`).toBe(true);
    expect(messages.length > 0).toBe(c.expected.qwk === null);
  });
});

describe('grades', () => {
  it('grades continuous outputs by thresholds (value > t)', () => {
    expect(Array.from(gradesFromValues([-0.3, 0.49, 0.5, 0.51, 1.7, 9], [0.5, 1.5]))).toEqual([0, 0, 0, 1, 2, 2]);
  });
  it('rejects a grade outside the levels, naming the row', () => {
    expect(() => quadraticWeightedKappa([0, 1], [0, 3], 3)).toThrow(/predicted value at row 1 is 3/);
  });
});
