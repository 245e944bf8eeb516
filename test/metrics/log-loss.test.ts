import { describe, expect, it } from 'vitest';
import { classWeightsByName, logLoss, logLossPerClass, rsnaWeightedLogLoss } from '../../src/metrics/log-loss.ts';
import { fromRows } from '../../src/metrics/matrix.ts';
import { loadFixture, scoresOf, targetsOf, type FixtureCase } from './fixtures.ts';

type Case = FixtureCase<{ mean: number; perClass: number[]; rsnaWeighted: number }> & { eps: number; classNames: string[] };

describe('log loss matches scikit-learn', () => {
  it.each(loadFixture<Case>('log-loss').map((c) => [c.name, c] as const))('%s', (_, c) => {
    expect(logLoss(scoresOf(c), targetsOf(c), { eps: c.eps })).toBeCloseTo(c.expected.mean, 10);
    logLossPerClass(scoresOf(c), targetsOf(c), { eps: c.eps }).forEach((value, j) => expect(value).toBeCloseTo(c.expected.perClass[j], 10));
    expect(rsnaWeightedLogLoss(scoresOf(c), targetsOf(c), c.classNames, { eps: c.eps })).toBeCloseTo(c.expected.rsnaWeighted, 10);
  });
});

describe('log loss input checks', () => {
  const targets = fromRows([[0, 1]], (n) => new Uint8Array(n));
  it('rejects a value outside [0, 1], naming it', () => {
    expect(() => logLoss(fromRows([[0.5, 1.2]], (n) => new Float32Array(n)), targets)).toThrow(/row 0, column 1 is 1\.2/);
  });
  it('rejects a class weight for a class that does not exist', () => {
    expect(() => classWeightsByName(['a', 'b'], { any: 2 })).toThrow(/class weight for 'any', which is not a class/);
  });
  it('weighs any twice in the RSNA metric', () => {
    expect(Array.from(classWeightsByName(['epidural', 'any'], { any: 2 }))).toEqual([1, 2]);
  });
});
