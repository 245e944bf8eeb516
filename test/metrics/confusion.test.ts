import { describe, expect, it } from 'vitest';
import { categoricalConfusion, multilabelConfusion } from '../../src/metrics/confusion.ts';
import { fromRows } from '../../src/metrics/matrix.ts';
import { loadFixture, scoresOf, targetsOf, type FixtureCase } from './fixtures.ts';

type Case = FixtureCase<number[][] | number[][][]> & { kind: 'multilabel' | 'categorical'; threshold?: number };

describe('confusion matrices match scikit-learn', () => {
  it.each(loadFixture<Case>('confusion').map((c) => [c.name, c] as const))('%s', (_, c) => {
    const actual =
      c.kind === 'multilabel' ? multilabelConfusion(scoresOf(c), targetsOf(c), c.threshold) : categoricalConfusion(scoresOf(c), targetsOf(c));
    expect(actual).toEqual(c.expected);
  });

  it('rejects categorical targets that are not one-hot', () => {
    const scores = fromRows([[0.2, 0.8], [0.6, 0.4]], (n) => new Float32Array(n));
    const targets = fromRows([[0, 1], [1, 1]], (n) => new Uint8Array(n));
    expect(() => categoricalConfusion(scores, targets)).toThrow(/target row 1 is not one-hot/);
  });
});
