import { describe, expect, it } from 'vitest';
import { averagePrecisionScore } from '../../src/metrics/average-precision.ts';
import { brierScore, expectedCalibrationError } from '../../src/metrics/calibration.ts';
import { fbetaScore } from '../../src/metrics/fbeta.ts';
import { logLoss } from '../../src/metrics/log-loss.ts';
import { selectRows } from '../../src/metrics/matrix.ts';
import { rocAucScore } from '../../src/metrics/roc-auc.ts';
import { binarySchema } from '../../src/labels/schema.ts';
import { scoreSplit } from '../../src/metrics/summary.ts';
import { fitThresholds } from '../../src/metrics/thresholds.ts';
import { metricValue } from '../../src/runs/metrics-file.ts';
import { loadFixture, scoresOf, targetsOf, type FixtureCase } from './fixtures.ts';

const c = loadFixture<FixtureCase<unknown>>('roc-auc').find((x) => x.name === 'informative')!;
const classes = ['a', 'b', 'c', 'd', 'e'];
const quiet = () => {};
const schema = binarySchema(classes);
// Thresholds fitted on the first 40 rows (validation), summarised on the last 20 (test).
const validation = Array.from({ length: 40 }, (_, i) => i);
const test = Array.from({ length: c.rows - 40 }, (_, i) => 40 + i);
const scores = scoresOf(c);
const targets = targetsOf(c);

describe('split summary', () => {
  const thresholds = fitThresholds(selectRows(scores, validation), selectRows(targets, validation), { source: 'validation', classes, zeroDivision: 0 });
  const testScores = selectRows(scores, test);
  const testTargets = selectRows(targets, test);
  const summary = scoreSplit(schema, testScores, testTargets, { thresholds, zeroDivision: 0, warn: quiet });

  it('holds the headline metrics, untuned and tuned side by side', () => {
    expect(summary.rows).toBe(20);
    expect(summary.f2!.samples).toBe(fbetaScore(testScores, testTargets, 'samples', { zeroDivision: 0 }));
    expect(summary.f2!.macro).toBe(fbetaScore(testScores, testTargets, 'macro', { zeroDivision: 0 }));
    expect(summary.f2_tuned?.samples).toBe(fbetaScore(testScores, testTargets, 'samples', { zeroDivision: 0, threshold: thresholds.thresholds }));
    expect(summary.auc!.macro).toBe(rocAucScore(testScores, testTargets, 'macro'));
    expect(summary.auc!.perClass!.a).toBeTypeOf('number');
    expect(summary.average_precision!.micro).toBe(averagePrecisionScore(testScores, testTargets, 'micro'));
    expect(summary.logloss).toBe(logLoss(testScores, testTargets));
    expect(summary.brier).toBe(brierScore(testScores, testTargets, 'macro'));
    expect(summary.ece).toBe(expectedCalibrationError(testScores, testTargets, 'macro'));
    expect(summary.thresholds).toEqual(thresholds.thresholds);
  });

  it('is what the leaderboard reads from metrics.json', () => {
    const metrics = JSON.parse(JSON.stringify({ val: summary, test: summary }));
    expect(metricValue(metrics, 'test.f2.samples', 'metrics')).toBe(summary.f2!.samples);
    expect(metricValue(metrics, 'val.auc.macro', 'metrics')).toBe(summary.auc!.macro);
    expect(metricValue(metrics, 'test.f2_tuned.samples', 'metrics')).toBe(summary.f2_tuned?.samples);
  });

  it('has no tuned entries without thresholds', () => {
    const plain = scoreSplit(schema, testScores, testTargets, { zeroDivision: 0, warn: quiet });
    expect(plain.f2_tuned).toBeUndefined();
    expect(plain.thresholds).toBeUndefined();
  });
});
