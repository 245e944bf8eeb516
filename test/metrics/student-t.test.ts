import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { meanConfidenceInterval, studentTCdf, studentTQuantile } from '../../src/metrics/student-t.ts';

// Written by scripts/make-report-fixtures.py from scipy.stats.t.
const fixture = JSON.parse(readFileSync(new URL('../fixtures/report/student-t.json', import.meta.url), 'utf8')) as {
  cdf: Array<{ t: number; df: number; p: number }>;
  quantiles: Array<{ p: number; df: number; quantile: number }>;
  intervals: Array<{ values: number[]; confidence: number; mean: number; lower: number; upper: number }>;
};

describe('Student t', () => {
  it.each(fixture.cdf)('cdf t=$t df=$df matches scipy', ({ t, df, p }) => {
    expect(studentTCdf(t, df)).toBeCloseTo(p, 14);
  });

  it.each(fixture.quantiles)('quantile p=$p df=$df inverts the cdf and matches scipy', ({ p, df, quantile }) => {
    // scipy's ppf is an iterative inverse good to about 1e-9; the round trip through the exact cdf is tighter.
    expect(studentTQuantile(p, df)).toBeCloseTo(quantile, 7);
    expect(studentTCdf(studentTQuantile(p, df), df)).toBeCloseTo(p, 14);
  });

  it('is the Cauchy quantile at one degree of freedom', () => {
    expect(studentTQuantile(0.9, 1)).toBeCloseTo(Math.tan(0.4 * Math.PI), 13);
  });

  it.each(fixture.intervals)('t interval of $values at $confidence matches scipy', ({ values, confidence, mean, lower, upper }) => {
    const interval = meanConfidenceInterval(values, confidence)!;
    expect(interval.mean).toBeCloseTo(mean, 12);
    expect(interval.lower).toBeCloseTo(lower, 8);
    expect(interval.upper).toBeCloseTo(upper, 8);
  });

  it('has no interval for one value and rejects bad arguments', () => {
    expect(meanConfidenceInterval([0.7])).toBeNull();
    expect(() => meanConfidenceInterval([0.7, 0.8], 1)).toThrow(/confidence must be in \(0, 1\)/);
    expect(() => studentTQuantile(0, 3)).toThrow(/p must be in \(0, 1\)/);
    expect(() => studentTCdf(1, 0)).toThrow(/whole number >= 1/);
    expect(() => studentTQuantile(0.9, 2.5)).toThrow(/whole number >= 1/);
  });
});
