import { describe, expect, it } from 'vitest';
import { brierScore, brierScorePerClass, calibrationError, expectedCalibrationError, expectedCalibrationErrorPerClass, reliabilityBins } from '../../src/metrics/calibration.ts';
import { column, fromRows } from '../../src/metrics/matrix.ts';
import { createMetric } from '../../src/metrics/registry.ts';
import { close, loadFixture, scoresOf, targetsOf, type FixtureCase } from './fixtures.ts';

interface Bin {
  count: number;
  meanPredicted: number | null;
  fractionPositive: number | null;
}
type Case = FixtureCase<{
  brier: { perClass: number[]; macro: number; micro: number };
  ece: { perClass: number[]; macro: number; micro: number };
  binsPerClass: Bin[][];
  binsPooled: Bin[];
}> & { bins: number };

const cases = loadFixture<Case>('calibration').map((c) => [c.name, c] as const);

function expectBins(actual: Bin[], expected: Bin[]): void {
  expect(actual.map((b) => b.count)).toEqual(expected.map((b) => b.count));
  actual.forEach((bin, b) => {
    expect(close(bin.meanPredicted, expected[b].meanPredicted), `bin ${b} mean`).toBe(true);
    expect(close(bin.fractionPositive, expected[b].fractionPositive), `bin ${b} fraction`).toBe(true);
  });
}

describe("Brier score equals scikit-learn's brier_score_loss", () => {
  it.each(cases)('%s', (_, c) => {
    const [p, t] = [scoresOf(c), targetsOf(c)];
    brierScorePerClass(p, t).forEach((value, j) => expect(close(value, c.expected.brier.perClass[j]), `class ${j}`).toBe(true));
    expect(close(brierScore(p, t, 'macro'), c.expected.brier.macro)).toBe(true);
    expect(close(brierScore(p, t, 'micro'), c.expected.brier.micro)).toBe(true);
  });
});

describe("reliability bins and ECE equal the reference (sklearn's calibration_curve bins)", () => {
  it.each(cases)('%s', (_, c) => {
    const [p, t] = [scoresOf(c), targetsOf(c)];
    c.expected.binsPerClass.forEach((expected, j) => expectBins(reliabilityBins(column(p, j), column(t, j), c.bins), expected));
    expectBins(reliabilityBins(p.data, t.data, c.bins), c.expected.binsPooled);
    expectedCalibrationErrorPerClass(p, t, c.bins).forEach((value, j) => expect(close(value, c.expected.ece.perClass[j]), `class ${j}`).toBe(true));
    expect(close(expectedCalibrationError(p, t, 'macro', c.bins), c.expected.ece.macro)).toBe(true);
    expect(close(expectedCalibrationError(p, t, 'micro', c.bins), c.expected.ece.micro)).toBe(true);
  });
});

describe('calibration metrics in the registry', () => {
  const c = cases[0][1];
  const context = { columns: Array.from({ length: c.cols }, (_, j) => `c${j}`) };
  it('computes brier and ece by name, lower is better, per class with average none', () => {
    const brier = createMetric({ name: 'brier', average: 'micro' }, context);
    expect(brier.better).toBe('lower');
    expect(close(brier.compute(scoresOf(c), targetsOf(c)) as number, c.expected.brier.micro)).toBe(true);
    const ece = createMetric({ name: 'ece', average: 'none', bins: c.bins }, context);
    expect(ece.better).toBe('lower');
    const perClass = ece.compute(scoresOf(c), targetsOf(c)) as Record<string, number>;
    expect(Object.keys(perClass)).toEqual(context.columns);
    expect(close(perClass.c1, c.expected.ece.perClass[1])).toBe(true);
  });

  it('refuses probabilities outside [0, 1] and a bin count below 2, naming them', () => {
    const targets = fromRows([[0, 1]], (n) => new Uint8Array(n));
    expect(() => brierScore(fromRows([[0.5, 1.5]], (n) => new Float32Array(n)), targets, 'macro')).toThrow(/row 0, column 1 is 1\.5/);
    expect(() => createMetric({ name: 'ece', bins: 1 }, { columns: ['a', 'b'] })).toThrow(/bins/);
  });

  it('has zero error for outcomes equal to their bin means and a known error otherwise', () => {
    expect(calibrationError(reliabilityBins([0.25, 0.25, 0.25, 0.25], [0, 0, 0, 1], 4))).toBe(0);
    expect(calibrationError(reliabilityBins([0.9, 0.9, 0.1, 0.1], [0, 0, 0, 0], 10))).toBeCloseTo(0.5, 12);
  });
});
