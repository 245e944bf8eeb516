import { describe, expect, it } from 'vitest';
import { decodeLogits, decodedColumns } from '../../src/labels/decode.ts';
import { parseLabelSchema } from '../../src/labels/schema.ts';
import { matrix } from '../../src/metrics/matrix.ts';
import { PredictionTable } from '../../src/metrics/prediction-table.ts';

/** Three slices of two patients, two score columns, one decision column, two target columns; read from `file.csv` lines 2-4. */
const table = new PredictionTable({
  source: 'file.csv',
  ids: ['s1', 's2', 's3'],
  patients: ['p1', 'p1', 'p2'],
  lines: [2, 3, 4],
  columns: ['a', 'b'],
  scores: matrix(Float64Array.of(0.9, 0.2, 0.1, 0.7, 0.4, 0.6), 3, 2),
  decisions: { classes: ['a'], values: matrix(Float64Array.of(1, 0, 0), 3, 1) },
  truth: { columns: ['a', 'b'], values: matrix(Float64Array.of(1, 0, 0, 1, 1, 1), 3, 2) },
});

describe('the prediction table', () => {
  it('aligns to another row order, every column, decision, target, patient and line following its row', () => {
    const aligned = table.alignTo(['s3', 's1', 's2']);
    expect(aligned.ids).toEqual(['s3', 's1', 's2']);
    expect(aligned.patients).toEqual(['p2', 'p1', 'p1']);
    expect(Array.from(aligned.scores.data)).toEqual([0.4, 0.6, 0.9, 0.2, 0.1, 0.7]);
    expect(Array.from(aligned.decisions!.values.data)).toEqual([0, 1, 0]);
    expect(Array.from(aligned.truth!.values.data)).toEqual([1, 1, 1, 0, 0, 1]);
    expect(aligned.lines).toEqual([4, 2, 3]);
    expect(aligned.source).toBe('file.csv');
    expect(table.alignTo(['s1', 's2', 's3'])).toBe(table);
  });

  it('names the file and the first missing and extra ids when the rows differ', () => {
    expect(() => table.alignTo(['s1', 's2', 's4'], 'reference.csv')).toThrow("file.csv: its rows differ from reference.csv's (3 vs 3 rows; missing s4; extra s3): were they predicted on different data?");
    const many = Array.from({ length: 8 }, (_, i) => `x${i}`);
    expect(() => table.alignTo(many)).toThrow(/missing x0, x1, x2, x3, x4, … \(8\); extra s1, s2, s3\)/);
    expect(() => table.alignTo(['s1', 's1', 's2', 's3'])).toThrow(/repeated ids/);
    const repeated = table.with({ ids: ['s1', 's1', 's2'] });
    expect(() => repeated.alignTo(['s1', 's2'])).toThrow(/repeated ids/);
  });

  it('selects columns with their targets and decisions, naming a column it lacks', () => {
    const b = table.select(['b']);
    expect(b.columns).toEqual(['b']);
    expect(Array.from(b.scores.data)).toEqual([0.2, 0.7, 0.6]);
    expect(Array.from(b.targets().data)).toEqual([0, 1, 1]);
    expect(b.decisions).toBeUndefined();
    expect(b.patients).toEqual(table.patients);
    const both = table.select(['b', 'a']);
    expect(Array.from(both.scores.data)).toEqual([0.2, 0.9, 0.7, 0.1, 0.6, 0.4]);
    expect(both.decisions!.classes).toEqual(['a']);
    expect(() => table.select(['a', 'c'])).toThrow('file.csv: no score column for c (it has a, b)');
    const withoutTruth = table.with({ truth: { columns: ['a'], values: matrix(Float64Array.of(1, 0, 1), 3, 1) } });
    expect(() => withoutTruth.targets()).toThrow('file.csv: no true_ column for b (targets are needed to score them)');
    expect(Array.from(withoutTruth.select(['a']).targets().data)).toEqual([1, 0, 1]);
  });

  it("gives the binary classes with 0/1 targets, naming the line of one that is not", () => {
    const binary = table.binary(['a', 'b']);
    expect(binary.columns).toEqual(['a', 'b']);
    expect(binary.truth!.values.data).toBeInstanceOf(Uint8Array);
    expect(binary.rowPatients()).toEqual(['p1', 'p1', 'p2']);
    const bad = table.with({ truth: { columns: ['a', 'b'], values: matrix(Float64Array.of(1, 0, 0, 2, 1, 1), 3, 2) } });
    expect(() => bad.alignTo(['s2', 's1', 's3']).binary(['a', 'b'])).toThrow("file.csv line 3, column 'true_b': target 2 is not 0 or 1");
    expect(() => table.binary()).toThrow(/which columns are binary classes is not recorded here/);
  });

  it('becomes a table from logits once: decoded columns, targets in the target layout, the schema, the loss', () => {
    const schema = parseLabelSchema({
      groups: [
        { kind: 'binary', name: 'bleed', classes: ['x', 'y'] },
        { kind: 'ordinal', name: 'damage', classes: ['edema'], levels: 3 },
      ],
    });
    const logits = Float32Array.of(0, 2, 0.4, -1, 0, 1.7);
    const fromLogits = PredictionTable.fromLogits(schema, { ids: ['p', 'q'], logits, targets: Float32Array.of(0, 1, 0, 1, 1, 2), loss: 0.25 });
    expect(fromLogits.columns).toEqual(decodedColumns(schema));
    expect(Array.from(fromLogits.scores.data)).toEqual(Array.from(decodeLogits(schema, logits)));
    expect(fromLogits.truth!.columns).toEqual(['x', 'y', 'edema']);
    expect(fromLogits.loss).toBe(0.25);
    expect(fromLogits.rowPatients()).toEqual(['p', 'q']);
    // binary() knows the schema's binary classes; decisions at thresholds in their order.
    const decided = fromLogits.withDecisions({ classes: ['x', 'y'], thresholds: [0.5, 0.9] });
    expect(Array.from(decided.decisions!.values.data)).toEqual([1, 0, 0, 0]);
    expect(() => fromLogits.withDecisions({ classes: ['y', 'x'], thresholds: [0.5, 0.5] })).toThrow('thresholds were fitted for classes [y, x] but the predictions have [x, y]');
    expect(Array.from(fromLogits.select(['edema']).targets().data)).toEqual([0, 2]);
  });

  it('averages repeated rows (test-time views) and tables by weight, aligned to the first', () => {
    const twice = new PredictionTable({ source: 'm1', ids: ['u', 'v', 'u', 'v'], columns: ['a'], scores: matrix(Float32Array.of(0.2, 0.4, 0.6, 0.8), 4, 1) });
    const views = twice.meanOfRepeats(2);
    expect(views.ids).toEqual(['u', 'v']);
    expect(Array.from(views.scores.data)).toEqual([(Math.fround(0.2) + Math.fround(0.6)) / 2, (Math.fround(0.4) + Math.fround(0.8)) / 2]);
    expect(() => twice.meanOfRepeats(3)).toThrow("m1: row 'u' was predicted 2 times, expected 3");
    const other = new PredictionTable({ source: 'm2', ids: ['v', 'u'], columns: ['a'], scores: matrix(Float64Array.of(1, 0), 2, 1) });
    const mean = PredictionTable.mean([views, other], [1, 3], 'ensemble');
    expect(mean.ids).toEqual(['u', 'v']);
    expect(mean.source).toBe('ensemble');
    expect(mean.scores.data[0]).toBeCloseTo((0.4 + 3 * 0) / 4, 6);
    expect(mean.scores.data[1]).toBeCloseTo((0.6 + 3 * 1) / 4, 6);
    const stranger = other.with({ ids: ['v', 'w'] });
    expect(() => PredictionTable.mean([views, stranger])).toThrow("m2: its rows differ from m1's (2 vs 2 rows; missing u; extra w)");
  });

  it('pools tables of different rows, refusing a row in two of them', () => {
    const first = table.select(['a']);
    const second = new PredictionTable({ source: 'fold2.csv', ids: ['s9'], patients: ['p9'], columns: ['a'], scores: matrix(Float64Array.of(0.3), 1, 1), truth: { columns: ['a'], values: matrix(Float64Array.of(0), 1, 1) } });
    const pooled = PredictionTable.concat([first, second]);
    expect(pooled.ids).toEqual(['s1', 's2', 's3', 's9']);
    expect(pooled.patients).toEqual(['p1', 'p1', 'p2', 'p9']);
    expect(Array.from(pooled.targets().data)).toEqual([1, 0, 1, 0]);
    expect(pooled.source).toBe('file.csv + fold2.csv');
    expect(() => PredictionTable.concat([first, first.with({ source: 'again.csv' })])).toThrow("again.csv: row 's1' is also in file.csv");
    expect(() => PredictionTable.concat([first, first.with({ source: 'again.csv' })], 'the folds overlap')).toThrow("again.csv: row 's1' is also in file.csv: the folds overlap");
    expect(() => PredictionTable.concat([first, table.with({ source: 'wide.csv' })])).toThrow("wide.csv: its columns differ from file.csv's");
  });

  it('refuses matrices that do not fit its rows and columns', () => {
    expect(() => new PredictionTable({ source: 'x.csv', ids: ['a'], columns: ['c', 'd'], scores: matrix(Float64Array.of(1), 1, 1) })).toThrow('x.csv: scores are [1, 1], expected [1, 2] (rows × columns)');
  });
});
