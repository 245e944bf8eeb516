import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fbetaThresholdCurve, objectiveThresholdCurve, precisionRecallCurve, rocCurve, thresholdGrid } from '../../src/metrics/curves.ts';
import { fbetaScore } from '../../src/metrics/fbeta.ts';
import { fromRows } from '../../src/metrics/matrix.ts';

interface CurveCase {
  name: string;
  scores: number[];
  labels: number[];
  grid: number[];
  roc: { fpr: number[]; tpr: number[]; thresholds: (number | null)[] };
  rocFull: { fpr: number[]; tpr: number[]; thresholds: (number | null)[] };
  pr: { precision: number[]; recall: number[]; thresholds: number[] };
  f2_zero0: number[];
  f2_zero1: number[];
}

// Written by scripts/make-report-fixtures.py from scikit-learn.
const fixture = JSON.parse(readFileSync(new URL('../fixtures/report/curves.json', import.meta.url), 'utf8')) as { cases: CurveCase[] };

const close = (actual: ArrayLike<number>, expected: readonly (number | null)[]) => {
  expect(actual.length).toBe(expected.length);
  expected.forEach((value, i) => (value === null ? expect(actual[i]).toBe(Infinity) : expect(actual[i]).toBeCloseTo(value, 12)));
};

describe.each(fixture.cases)('curves match scikit-learn ($name)', (c) => {
  it('roc_curve (drop_intermediate on and off)', () => {
    const dropped = rocCurve(c.scores, c.labels)!;
    close(dropped.falsePositiveRate, c.roc.fpr);
    close(dropped.truePositiveRate, c.roc.tpr);
    close(dropped.thresholds, c.roc.thresholds);
    const full = rocCurve(c.scores, c.labels, { dropIntermediate: false })!;
    close(full.falsePositiveRate, c.rocFull.fpr);
    close(full.truePositiveRate, c.rocFull.tpr);
    close(full.thresholds, c.rocFull.thresholds);
  });

  it('precision_recall_curve', () => {
    const curve = precisionRecallCurve(c.scores, c.labels)!;
    close(curve.precision, c.pr.precision);
    close(curve.recall, c.pr.recall);
    close(curve.thresholds, c.pr.thresholds);
  });

  it('F2 at each threshold, both zero-division policies', () => {
    close(fbetaThresholdCurve(c.scores, c.labels, c.grid, { zeroDivision: 0 }), c.f2_zero0);
    close(fbetaThresholdCurve(c.scores, c.labels, c.grid, { zeroDivision: 1 }), c.f2_zero1);
  });
});

describe('curve edge cases', () => {
  it('is null where the curve is undefined', () => {
    expect(rocCurve([0.2, 0.7], [1, 1])).toBeNull();
    expect(rocCurve([0.2, 0.7], [0, 0])).toBeNull();
    expect(precisionRecallCurve([0.2, 0.7], [0, 0])).toBeNull();
    expect(precisionRecallCurve([0.2, 0.7], [1, 1])).not.toBeNull();
  });

  it('rejects bad input naming the row', () => {
    expect(() => rocCurve([0.1, 0.2], [0, 2])).toThrow(/row 1.*is 2, expected 0 or 1/);
    expect(() => precisionRecallCurve([0.1, Number.NaN], [0, 1])).toThrow(/row 1.*NaN/);
    expect(() => fbetaThresholdCurve([0.1], [0, 1], [0.5])).toThrow(/\[1, 1\].*\[2, 1\]/);
  });

  it('the objective curve is the averaged F2 with one threshold moved', () => {
    const scores = fromRows([[0.9, 0.2], [0.4, 0.6], [0.3, 0.1], [0.7, 0.8]], (n) => new Float64Array(n));
    const targets = fromRows([[1, 0], [1, 1], [0, 0], [0, 1]], (n) => new Uint8Array(n));
    const grid = thresholdGrid(4, [0.35]);
    expect(grid).toEqual([0, 0.25, 0.35, 0.5, 0.75, 1]);
    const curve = objectiveThresholdCurve(scores, targets, [0.5, 0.5], 0, grid, { average: 'samples', zeroDivision: 1 });
    grid.forEach((t, i) => expect(curve[i]).toBeCloseTo(fbetaScore(scores, targets, 'samples', { threshold: [t, 0.5], zeroDivision: 1 }), 12));
    expect(() => objectiveThresholdCurve(scores, targets, [0.5], 0, grid)).toThrow(/1 thresholds for 2 classes/);
    expect(() => thresholdGrid(0)).toThrow(/positive integer/);
  });
});
