import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alignTo, binaryPredictions, columnsWithTruth, readPredictionsFile } from '../../src/runs/predictions.ts';

const file = join(tmpdir(), 'predictions-test.csv');
writeFileSync(file, ['id,patient,a,b,label_a,true_a,true_b', 's1,p1,0.9,0.2,1,1,0', 's2,p1,0.1,0.7,0,0,1', 's3,p2,0.4,0.6,0,1,1', ''].join('\n'));

describe('a predictions table', () => {
  it('aligns to another row order, every column, decision, target and patient following its row', async () => {
    const table = await readPredictionsFile(file);
    const aligned = alignTo(table, ['s3', 's1', 's2']);
    expect(aligned.ids).toEqual(['s3', 's1', 's2']);
    expect(aligned.patients).toEqual(['p2', 'p1', 'p1']);
    expect(Array.from(aligned.scores)).toEqual([0.4, 0.6, 0.9, 0.2, 0.1, 0.7]);
    expect(Array.from(aligned.labels!.data)).toEqual([0, 1, 0]);
    expect(Array.from(aligned.truth!)).toEqual([1, 1, 1, 0, 0, 1]);
    expect(aligned.lines).toEqual([4, 2, 3]);
  });

  it('names the missing and the extra ids when the rows differ', async () => {
    const table = await readPredictionsFile(file);
    expect(() => alignTo(table, ['s1', 's2', 's4'], 'reference.csv')).toThrow(/predictions-test\.csv: its rows differ from reference\.csv's \(3 vs 3 rows; missing s4; extra s3\)/);
  });

  it('gives the scores and targets of chosen columns, and the binary view with 0/1 targets', async () => {
    const table = await readPredictionsFile(file);
    const { scores, targets } = columnsWithTruth(table, ['b']);
    expect(Array.from(scores.data)).toEqual([0.2, 0.7, 0.6]);
    expect(Array.from(targets.data)).toEqual([0, 1, 1]);
    expect(() => columnsWithTruth(table, ['c'])).toThrow(/no score and true_ column for c/);
    const binary = binaryPredictions(table, ['a', 'b']);
    expect(binary.classes).toEqual(['a', 'b']);
    expect(binary.patients).toEqual(['p1', 'p1', 'p2']);
    const bad = join(tmpdir(), 'bad.csv');
    writeFileSync(bad, 'id,a,true_a\nx,0.5,1\ny,0.5,2\n');
    const badTable = await readPredictionsFile(bad);
    expect(() => binaryPredictions(alignTo(badTable, ['y', 'x']), ['a'])).toThrow(/bad\.csv line 3, column 'true_a': target 2 is not 0 or 1/);
  });
});
