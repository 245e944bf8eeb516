import { describe, expect, it } from 'vitest';
import { parseLabelSchema } from '../../src/labels/schema.ts';
import { MetricAccumulator } from '../../src/metrics/accumulate.ts';
import { fbetaScore } from '../../src/metrics/fbeta.ts';
import { fromRows, matrix, selectRows } from '../../src/metrics/matrix.ts';
import { createMetric, metricContext, metrics, scoreFunction } from '../../src/metrics/registry.ts';
import { rocAucScore } from '../../src/metrics/roc-auc.ts';
import { collectWarnings, loadFixture, scoresOf, targetsOf, type FixtureCase } from './fixtures.ts';

const schema = parseLabelSchema({
  groups: [
    { kind: 'binary', name: 'bleed', classes: ['epidural', 'subdural', 'any'] },
    { kind: 'categorical', name: 'liver', classes: ['healthy', 'low', 'high'] },
    { kind: 'ordinal', name: 'damage', classes: ['kidney', 'spleen'], levels: 3 },
  ],
});
const context = metricContext(schema);
// Columns: epidural subdural any | liver_healthy liver_low liver_high | kidney spleen (grades)
const predictions = fromRows(
  [
    [0.9, 0.1, 0.8, 0.7, 0.2, 0.1, 0.2, 1.6],
    [0.2, 0.6, 0.7, 0.1, 0.8, 0.1, 1.2, 0.4],
    [0.1, 0.2, 0.3, 0.2, 0.3, 0.5, 2.4, 0.1],
    [0.6, 0.7, 0.4, 0.6, 0.3, 0.1, 0.0, 0.9],
  ],
  (n) => new Float32Array(n),
);
const targets = fromRows(
  [
    [1, 0, 1, 1, 0, 0, 0, 2],
    [0, 1, 1, 0, 1, 0, 1, 0],
    [0, 0, 0, 0, 0, 1, 2, 0],
    [1, 0, 1, 1, 0, 0, 1, 1],
  ],
  (n) => new Float32Array(n),
);
const binaryColumns = [0, 1, 2];
const sub = (m: typeof predictions) => {
  const out = new Float32Array(m.rows * 3);
  for (let r = 0; r < m.rows; r++) for (let j = 0; j < 3; j++) out[r * 3 + j] = m.data[r * m.cols + binaryColumns[j]];
  return matrix(out, m.rows, 3);
};

describe('metric registry', () => {
  it('registers every family by name', () => {
    expect(metrics.names()).toEqual(
      expect.arrayContaining(['fbeta', 'f2', 'f1', 'precision', 'recall', 'auc', 'average_precision', 'logloss', 'wlogloss', 'brier', 'ece', 'ordinal_accuracy', 'ordinal_mae', 'qwk', 'confusion']),
    );
  });

  it('scores the binary groups by default, with the pure functions', () => {
    const f2 = createMetric({ name: 'f2', average: 'micro', zeroDivision: 0 }, context);
    expect(f2.label).toBe('f2(average=micro,zeroDivision=0)');
    expect(f2.compute(predictions, targets)).toBe(fbetaScore(sub(predictions), sub(targets), 'micro', { zeroDivision: 0 }));
    const auc = createMetric({ name: 'auc', average: 'none' }, context);
    const { warn } = collectWarnings();
    expect(Object.keys(auc.compute(predictions, targets, warn) as object)).toEqual(['epidural', 'subdural', 'any']);
  });

  it('scores a categorical group named in groups', () => {
    const f1 = createMetric({ name: 'f1', average: 'macro', groups: ['liver'] }, context);
    expect(f1.compute(predictions, targets)).toBeCloseTo(1, 12);
  });

  it('scores ordinal groups per class, graded by the group thresholds', () => {
    // kidney grades predicted 0,1,2,0 vs true 0,1,2,1; spleen 2,0,0,1 vs 2,0,0,1.
    const accuracy = createMetric({ name: 'ordinal_accuracy', group: 'damage' }, context).compute(predictions, targets);
    expect(accuracy).toEqual({ mean: (0.75 + 1) / 2, perClass: { kidney: 0.75, spleen: 1 } });
    const mae = createMetric({ name: 'ordinal_mae', group: 'damage' }, context);
    expect(mae.better).toBe('lower');
    expect(mae.compute(predictions, targets)).toEqual({ mean: 0.125, perClass: { kidney: 0.25, spleen: 0 } });
  });

  it('gives the categorical confusion matrix of a group', () => {
    const confusion = createMetric({ name: 'confusion', group: 'liver' }, context).compute(predictions, targets);
    expect(confusion).toEqual([
      [2, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ]);
  });

  it('weighs any twice in wlogloss and refuses weights for unknown classes', () => {
    const w = createMetric({ name: 'wlogloss' }, context).compute(predictions, targets) as number;
    const plain = createMetric({ name: 'logloss', weights: { any: 2 } }, context).compute(predictions, targets);
    expect(w).toBe(plain);
    expect(() => createMetric({ name: 'logloss', weights: { nonsense: 2 } }, context).compute(predictions, targets)).toThrow(
      /class weight for 'nonsense', which is not a class/,
    );
  });

  it('rejects unknown names, options, groups and misused groups', () => {
    expect(() => createMetric({ name: 'f3' }, context)).toThrow(/unknown metric 'f3'/);
    expect(() => createMetric({ name: 'f2', averge: 'macro' }, context)).toThrow(/averge/);
    expect(() => createMetric({ name: 'f2', average: 'median' }, context)).toThrow(/average/);
    expect(() => createMetric({ name: 'f2', groups: ['lungs'] }, context)).toThrow(/unknown group 'lungs'/);
    expect(() => createMetric({ name: 'qwk', group: 'bleed' }, context)).toThrow(/group 'bleed' is binary, not ordinal/);
    expect(() => createMetric({ name: 'auc', groups: ['damage'] }, context)).toThrow(/is ordinal/);
  });

  it('turns scalar metrics into score functions and refuses the others', () => {
    const auc = createMetric({ name: 'auc' }, context);
    const { warn } = collectWarnings();
    expect(scoreFunction(auc)(predictions, targets, warn)).toBe(auc.compute(predictions, targets, warn));
    expect(() => scoreFunction(createMetric({ name: 'auc', average: 'none' }, context))(predictions, targets, warn)).toThrow(/not a single number/);
  });
});

describe('metric accumulator', () => {
  const c = loadFixture<FixtureCase<unknown>>('roc-auc').find((x) => x.name === 'informative')!;
  const scores = scoresOf(c);
  const labels = targetsOf(c);
  const plain = { columns: Array.from({ length: c.cols }, (_, j) => `c${j}`) };

  it('equals the metric on all rows at once, not a mean of batch values', () => {
    const list = [createMetric({ name: 'f2' }, plain), createMetric({ name: 'auc', average: 'micro' }, plain)];
    const { warn, messages } = collectWarnings();
    const accumulator = new MetricAccumulator(list, warn);
    const batches = [[0, 7], [7, 31], [31, c.rows]];
    for (const [start, end] of batches) {
      const rows = Array.from({ length: end - start }, (_, i) => start + i);
      accumulator.update(selectRows(scores, rows), selectRows(labels, rows));
    }
    const result = accumulator.compute();
    expect(result.f2).toBe(fbetaScore(scores, labels, 'samples', { warn: () => {} }));
    expect(messages).toEqual([expect.stringMatching(/^F2 \(samples\): fbeta is ill-defined for 2 row/)]);
    expect(result['auc(average=micro)']).toBe(rocAucScore(scores, labels, 'micro'));
    expect(accumulator.rows).toBe(c.rows);
    accumulator.reset();
    expect(() => accumulator.compute()).toThrow(/no batches since the last reset/);
  });

  it('copies batches, so reused buffers do not change the result', () => {
    const accumulator = new MetricAccumulator([createMetric({ name: 'auc' }, plain)]);
    const batch = selectRows(scores, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    accumulator.update(batch, selectRows(labels, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    const before = accumulator.compute();
    batch.data.fill(0);
    expect(accumulator.compute()).toEqual(before);
  });

  it('rejects batches of another width and duplicate metrics', () => {
    const accumulator = new MetricAccumulator([createMetric({ name: 'f2' }, plain)]);
    accumulator.update(scores, labels);
    const narrow = matrix(new Float32Array(2), 1, 2);
    expect(() => accumulator.update(narrow, matrix(new Uint8Array(2), 1, 2))).toThrow(/batch has 2 columns, earlier batches had/);
    expect(() => new MetricAccumulator([createMetric({ name: 'f2' }, plain), createMetric({ name: 'f2' }, plain)])).toThrow(/listed twice/);
  });
});
