import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatPredictions, readBinaryPredictions, readPredictionsFile } from '../../src/runs/predictions.ts';

/** A slice-level predictions file: slice ids with their patient, scores, label_ decisions, true_ targets. */
const dir = mkdtempSync(join(tmpdir(), 'sliceseq-predictions-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('predictions files', () => {
  const table = {
    ids: ['ID_a', 'ID_b', 'ID_c'],
    patients: ['p1', 'p1', 'p2'],
    columns: ['bleed', 'any'],
    scores: [0.25, 0.5, 0.9, 0.95, 0.1234567, 0],
    labels: { classes: ['bleed', 'any'], data: [0, 1, 1, 1, 0, 0] },
    truthColumns: ['bleed', 'any'],
    truth: [0, 1, 1, 1, 0, 0],
  };

  it('write id, patient, scores, label_ and true_ columns, and read them back', async () => {
    const text = formatPredictions(table);
    expect(text.split('\n')[0]).toBe('id,patient,bleed,any,label_bleed,label_any,true_bleed,true_any');
    expect(text.split('\n')[3]).toBe('ID_c,p2,0.123457,0,0,0,0,0');
    const file = join(dir, 'predictions-test.csv');
    writeFileSync(file, text);
    const back = await readPredictionsFile(file);
    expect(back.ids).toEqual(table.ids);
    expect(back.patients).toEqual(table.patients);
    expect(back.columns).toEqual(table.columns);
    expect(Array.from(back.scores)).toEqual([0.25, 0.5, 0.9, 0.95, 0.123457, 0]);
    expect(back.labels!.classes).toEqual(['bleed', 'any']);
    expect(back.truthColumns).toEqual(['bleed', 'any']);
    expect((await readBinaryPredictions(file, ['any'])).patients).toEqual(table.patients);
  });

  it('name the file, line and column of a bad cell', async () => {
    const file = join(dir, 'bad.csv');
    writeFileSync(file, 'id,patient,bleed,true_bleed\nID_a,p1,high,0\n');
    await expect(readPredictionsFile(file)).rejects.toThrow(/bad.csv line 2, column 'bleed': 'high' is not a number/);
  });
});
