import { describe, expect, test } from 'vitest';
import { decodedColumns, decodeLogits } from '../../src/labels/decode.ts';
import { binarySchema, parseLabelSchema, totalOutputWidth } from '../../src/labels/schema.ts';
import { mixedSchema } from './model-checks.ts';

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

describe('decodeLogits', () => {
  test('columns follow the schema: binary classes, group_class, ordinal value and grade, then noFinding', () => {
    expect(decodedColumns(mixedSchema)).toEqual([
      'epidural', 'subdural', 'subarachnoid',
      'liver_healthy', 'liver_low', 'liver_high',
      'kidney', 'kidney_grade', 'spleen', 'spleen_grade',
      'bowel', 'bowel_grade',
      'no_bleed',
    ]);
  });

  test('each group decodes its own span of the logits row', () => {
    // binary (3) | categorical (3) | ordinal regression (2) | ordinal cumulative, 4 levels (3)
    const row = [0, 2, -1, /**/ 1, 2, 3, /**/ 0.4, 1.6, /**/ 3, 0.2, -2];
    expect(row.length).toBe(totalOutputWidth(mixedSchema));
    const columns = decodedColumns(mixedSchema);
    const values = decodeLogits(mixedSchema, Float32Array.from([...row, ...row]));
    expect(values.length).toBe(2 * columns.length);
    const get = (name: string, r = 0) => values[r * columns.length + columns.indexOf(name)];

    expect(get('epidural')).toBeCloseTo(0.5, 6);
    expect(get('subdural')).toBeCloseTo(sigmoid(2), 6);
    const softmax = [1, 2, 3].map((x) => Math.exp(x) / (Math.exp(1) + Math.exp(2) + Math.exp(3)));
    expect([get('liver_healthy'), get('liver_low'), get('liver_high')].map((v) => Number(v.toFixed(6)))).toEqual(softmax.map((v) => Number(v.toFixed(6))));
    // regression: the value itself, graded by the default thresholds 0.5, 1.5
    expect(get('kidney')).toBeCloseTo(0.4, 6);
    expect(get('kidney_grade')).toBe(0);
    expect(get('spleen_grade')).toBe(2);
    // cumulative: expected grade = sum of P(grade > k); grade = how many of them exceed 0.5
    expect(get('bowel')).toBeCloseTo(sigmoid(3) + sigmoid(0.2) + sigmoid(-2), 6);
    expect(get('bowel_grade')).toBe(2);
    // noFinding: every binary label negative
    expect(get('no_bleed')).toBeCloseTo((1 - 0.5) * (1 - sigmoid(2)) * (1 - sigmoid(-1)), 6);
    expect(get('no_bleed', 1)).toBe(get('no_bleed', 0));
  });

  test('declared ordinal thresholds grade the regression value', () => {
    const schema = parseLabelSchema({ groups: [{ kind: 'ordinal', name: 'g', classes: ['x'], levels: 3, thresholds: [0.2, 0.9] }] });
    expect(Array.from(decodeLogits(schema, [0.5]))).toEqual([0.5, 1]);
    expect(decodeLogits(schema, [0.1])[1]).toBe(0);
    expect(decodeLogits(schema, [0.95])[1]).toBe(2);
  });

  test('extreme logits stay finite', () => {
    const values = decodeLogits(parseLabelSchema({ groups: [
      { kind: 'binary', name: 'b', classes: ['p', 'q'] },
      { kind: 'categorical', name: 'c', classes: ['u', 'v'] },
    ] }), [1000, -1000, 1000, -1000]);
    expect(Array.from(values)).toEqual([1, 0, 1, 0]);
  });

  test('no noFinding column unless declared', () => {
    expect(decodedColumns(binarySchema(['a', 'b']))).toEqual(['a', 'b']);
    expect(decodedColumns(binarySchema(['a', 'b'], 'none'))).toEqual(['a', 'b', 'none']);
  });

  test('logits that are not whole rows are an error naming the widths', () => {
    expect(() => decodeLogits(mixedSchema, new Float32Array(12))).toThrow(/12 values are not whole rows of the label schema's 11 outputs/);
  });
});
