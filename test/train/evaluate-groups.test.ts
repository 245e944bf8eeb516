import { describe, expect, it } from 'vitest';
import { parseLabelSchema } from '../../src/labels/schema.ts';
import { PredictionTable } from '../../src/metrics/prediction-table.ts';
import { checkMonitor, monitoredValue, scorePredictions, tuneThresholds } from '../../src/train/evaluate.ts';

/** liver: healthy/low/high (softmax); damage: two ordinal classes graded 0..3 by regression. No binary labels. */
const schema = parseLabelSchema({
  groups: [
    { kind: 'categorical', name: 'liver', classes: ['healthy', 'low', 'high'] },
    { kind: 'ordinal', name: 'damage', classes: ['edema', 'erosion'], levels: 4 },
  ],
});

// Targets: liver one-hot, then the two grades. Logits: three liver logits, then the two regression values.
const rows: Array<{ targets: number[]; logits: number[] }> = [
  { targets: [1, 0, 0, 0, 3], logits: [4, 0, 0, 0.1, 2.9] }, // liver right; grades 0 and 3 right
  { targets: [0, 1, 0, 1, 2], logits: [0, 4, 0, 1.2, 1.2] }, // liver right; edema right, erosion 1 for 2
  { targets: [0, 0, 1, 2, 1], logits: [0, 0, 4, 2.2, 0.9] }, // liver right; both right
  { targets: [0, 0, 1, 3, 0], logits: [4, 0, 0, 1.6, 0.2] }, // liver wrong (healthy for high); edema 2 for 3, erosion right
];
const predictions = PredictionTable.fromLogits(schema, {
  ids: ['a', 'b', 'c', 'd'],
  logits: Float32Array.from(rows.flatMap((r) => r.logits)),
  targets: Float32Array.from(rows.flatMap((r) => r.targets)),
  loss: 0.5,
});

describe('scorePredictions without binary labels', () => {
  const block = scorePredictions(schema, predictions, { zeroDivision: 1 }) as Record<string, any>;

  it('scores each categorical group: arg-max accuracy, its confusion matrix and one-vs-rest AUC', () => {
    expect(block.groups.liver.accuracy).toBe(0.75);
    expect(block.groups.liver.confusion).toEqual([
      [1, 0, 0],
      [0, 1, 0],
      [1, 0, 1],
    ]);
    expect(block.groups.liver.auc_macro).toBeCloseTo(block.categorical_auc, 12);
    expect(block.groups.liver.classes).toEqual(['healthy', 'low', 'high']);
  });

  it('scores each ordinal group per class (grades by the thresholds 0.5/1.5/2.5) and their means', () => {
    const damage = block.groups.damage;
    expect(damage.accuracy.perClass).toEqual({ edema: 0.75, erosion: 0.75 });
    expect(damage.mae.perClass).toEqual({ edema: 0.25, erosion: 0.25 });
    expect(block.ordinal_accuracy).toBe(0.75);
    expect(block.qwk).toBeCloseTo((damage.qwk.perClass.edema + damage.qwk.perClass.erosion) / 2, 12);
    expect(block.qwk).toBeGreaterThan(0.8);
    // Grade confusion per class, rows true grade, columns predicted grade.
    expect(damage.confusion).toEqual({
      edema: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 1, 0]],
      erosion: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1]],
    });
  });

  it('leaves out F2, AUC of binary labels and thresholds cleanly', () => {
    expect(block.f2).toBeUndefined();
    expect(block.auc).toBeUndefined();
    expect(tuneThresholds(schema, predictions, { kind: 'per-class', zeroDivision: 1, source: 'validation' })).toBeUndefined();
  });

  it('feeds the monitors that fit the schema and names them when one does not', () => {
    expect(monitoredValue(block, 'qwk')).toBe(block.qwk);
    expect(monitoredValue(block, 'categorical_auc')).toBe(block.categorical_auc);
    expect(monitoredValue(block, 'loss')).toBe(-0.5);
    for (const fitting of ['qwk', 'categorical_auc', 'loss'] as const) expect(() => checkMonitor(schema, fitting, 'train.monitor')).not.toThrow();
    expect(() => checkMonitor(schema, 'auc_macro', 'train.monitor')).toThrow(
      "train.monitor: 'auc_macro' needs binary labels, and the label schema has only categorical and ordinal groups; use one of categorical_auc, qwk, loss",
    );
  });
});
