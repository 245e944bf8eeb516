import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import { parseLabelSchema, targetColumns } from '../../src/labels/schema.ts';
import { matrix } from '../../src/metrics/matrix.ts';
import { baselineScoresSchema, f2Key, metricKeys, metricTitle, monitorChoices, monitorKey, scoreAt, splitScoresSchema, type MetricKey } from '../../src/metrics/scores.ts';
import { scoreSplit } from '../../src/metrics/summary.ts';
import { fitThresholds } from '../../src/metrics/thresholds.ts';
import { defaultOrder } from '../../src/report/leaderboard.ts';
import { runMetricsSchema } from '../../src/runs/metrics-file.ts';
import { checkMonitor, monitoredValue } from '../../src/train/evaluate.ts';

const schema = parseLabelSchema({
  groups: [
    { kind: 'binary', name: 'bleed', classes: ['epidural', 'subdural', 'subarachnoid'] },
    { kind: 'categorical', name: 'liver', classes: ['healthy', 'low', 'high'] },
    { kind: 'ordinal', name: 'damage', classes: ['kidney', 'spleen'], levels: 3 },
  ],
});

/** Target-layout scores and targets of `rows` random rows: probabilities for binary and categorical classes, grades for ordinal ones. */
function split(rows: number, seed: number) {
  const rng = new Rng(seed);
  const columns = targetColumns(schema);
  const scores = new Float64Array(rows * columns.length);
  const targets = new Float64Array(rows * columns.length);
  for (let r = 0; r < rows; r++) {
    const o = r * columns.length;
    for (let c = 0; c < 3; c++) {
      targets[o + c] = rng.float() < 0.4 ? 1 : 0;
      scores[o + c] = Math.min(1, Math.max(0, 0.6 * targets[o + c] + 0.5 * rng.float()));
    }
    const liver = Math.floor(rng.float() * 3);
    const raw = [0, 1, 2].map((k) => (k === liver ? 1.5 : 0) + rng.float());
    const total = raw.reduce((sum, v) => sum + v, 0);
    raw.forEach((v, k) => ((scores[o + 3 + k] = v / total), (targets[o + 3 + k] = k === liver ? 1 : 0)));
    for (let c = 0; c < 2; c++) {
      const grade = Math.floor(rng.float() * 3);
      targets[o + 6 + c] = grade;
      scores[o + 6 + c] = grade + (rng.float() - 0.5);
    }
  }
  return { scores: matrix(scores, rows, columns.length), targets: matrix(targets, rows, columns.length) };
}

const quiet = () => {};
const validation = split(60, 1);
const binary = (m: ReturnType<typeof split>['scores']) => matrix(Float64Array.from({ length: m.rows * 3 }, (_, i) => m.data[Math.floor(i / 3) * m.cols + (i % 3)]), m.rows, 3);
const thresholds = fitThresholds(binary(validation.scores), binary(validation.targets), { source: 'validation', classes: ['epidural', 'subdural', 'subarachnoid'], zeroDivision: 1 });
const test = split(50, 2);
const block = { loss: 0.7, ...scoreSplit(schema, test.scores, test.targets, { thresholds, zeroDivision: 1, warn: quiet }) };

describe('the metric-key table', () => {
  const keys = Object.values(metricKeys as Record<string, MetricKey>);

  it('names every value scoreSplit writes for a schema with every kind of label group, and nothing it does not', () => {
    for (const key of keys) {
      const value = scoreAt(block, key);
      if (key.path === metricKeys.aucPerClass.path) expect(Object.keys(block.auc!.perClass!)).toEqual(['epidural', 'subdural', 'subarachnoid']);
      else expect(typeof value === 'number' || value === null, key.path).toBe(true);
    }
  });

  it('is the schema metrics.json is read with, and a bad score names its field', () => {
    expect(splitScoresSchema.parse(JSON.parse(JSON.stringify(block)))).toEqual(JSON.parse(JSON.stringify(block)));
    const bad = { ...block, f2: { ...block.f2, samples: 'high' } };
    expect(() => runMetricsSchema.parse({ val: bad })).toThrow(/samples/);
  });

  it('gives the monitor choices, their direction and the label groups they need', () => {
    expect(monitorChoices).toEqual(['f2_samples', 'f2_micro', 'f2_macro', 'auc_macro', 'categorical_auc', 'qwk', 'loss', 'last']);
    expect(monitoredValue(block, 'f2_samples')).toBe(block.f2!.samples);
    expect(monitoredValue(block, 'qwk')).toBe(block.qwk);
    expect(monitoredValue(block, 'loss')).toBe(-0.7);
    expect(monitoredValue(block, 'last', 7)).toBe(7);
    expect(monitorKey('auc_macro')).toBe(metricKeys.aucMacro);
    const ordinalOnly = parseLabelSchema({ groups: [{ kind: 'ordinal', name: 'damage', classes: ['kidney'], levels: 3 }] });
    expect(() => checkMonitor(ordinalOnly, 'f2_samples', 'train.monitor')).toThrow(/'f2_samples' needs binary labels[\s\S]*use one of qwk, loss, last/);
  });

  it('titles scores, orders leaderboards and builds the F2 paths', () => {
    expect(metricTitle(f2Key('samples', true).path)).toBe('F2 samples (tuned)');
    expect(metricTitle('groups.damage.qwk.mean')).toBe('groups.damage.qwk.mean');
    expect(defaultOrder(`test.${metricKeys.logloss.path}`)).toBe('lower');
    expect(defaultOrder(`val.${metricKeys.f2Macro.path}`)).toBe('higher');
    expect(defaultOrder('test.groups.damage.mae.mean')).toBe('lower');
  });
});

describe("metrics.json's baseline", () => {
  it('is a full score block; bare F2 averages of older runs read as its f2', () => {
    expect(baselineScoresSchema.parse({ samples: 0.2, micro: 0.3, macro: 0.25 })).toEqual({ f2: { samples: 0.2, micro: 0.3, macro: 0.25 } });
    expect(runMetricsSchema.parse({ baseline: block }).baseline).toEqual(block);
  });
});
