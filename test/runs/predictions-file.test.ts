import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { matrix } from '../../src/metrics/matrix.ts';
import { PredictionTable } from '../../src/metrics/prediction-table.ts';
import { formatPredictions, readPredictionsFile, readRunPredictions, writePredictions } from '../../src/runs/predictions.ts';

/** A slice-level predictions file: slice ids with their patient, scores, label_ decisions, true_ targets. */
const dir = mkdtempSync(join(tmpdir(), 'sliceseq-predictions-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const fixture = join(import.meta.dirname, '..', 'fixtures', 'predictions', 'predictions-test.csv');

describe('predictions files', () => {
  const table = new PredictionTable({
    ids: ['ID_a', 'ID_b', 'ID_c'],
    patients: ['p1', 'p1', 'p2'],
    columns: ['bleed', 'any'],
    scores: matrix(Float64Array.of(0.25, 0.5, 0.9, 0.95, 0.1234567, 0), 3, 2),
    decisions: { classes: ['bleed', 'any'], values: matrix(Uint8Array.of(0, 1, 1, 1, 0, 0), 3, 2) },
    truth: { columns: ['bleed', 'any'], values: matrix(Uint8Array.of(0, 1, 1, 1, 0, 0), 3, 2) },
  });

  it('write id, patient, scores, label_ and true_ columns, and read them back', async () => {
    const text = formatPredictions(table);
    expect(text.split('\n')[0]).toBe('id,patient,bleed,any,label_bleed,label_any,true_bleed,true_any');
    expect(text.split('\n')[3]).toBe('ID_c,p2,0.123457,0,0,0,0,0');
    writePredictions(dir, 'test', table);
    const back = await readPredictionsFile(join(dir, 'predictions-test.csv'));
    expect(back.ids).toEqual(table.ids);
    expect(back.patients).toEqual(table.patients);
    expect(back.columns).toEqual(table.columns);
    expect(Array.from(back.scores.data)).toEqual([0.25, 0.5, 0.9, 0.95, 0.123457, 0]);
    expect(back.decisions!.classes).toEqual(['bleed', 'any']);
    expect(back.truth!.columns).toEqual(['bleed', 'any']);
    expect(back.lines).toEqual([2, 3, 4]);
    const binary = await readRunPredictions(dir, 'test', ['any']);
    expect(binary.patients).toEqual(table.patients);
    expect(Array.from(binary.targets().data)).toEqual([1, 1, 0]);
  });

  it('read a file the previous writer wrote (every label group, decisions, targets) and write it back byte for byte', async () => {
    const old = readFileSync(fixture, 'utf8');
    const table = await readPredictionsFile(fixture);
    expect(table.columns).toEqual(['epidural', 'subdural', 'any', 'liver_healthy', 'liver_low', 'liver_high', 'edema', 'edema_grade', 'no_bleed']);
    expect(table.truth!.columns).toEqual(['epidural', 'subdural', 'any', 'liver_healthy', 'liver_low', 'liver_high', 'edema']);
    expect(table.decisions!.classes).toEqual(['epidural', 'subdural', 'any']);
    expect(table.patients).toEqual(['p0', 'p0', 'p0', 'p1', 'p1', 'p1', 'p2']);
    expect(formatPredictions(table)).toBe(old);
    // Reordered and back, a selection of it, and its binary classes keep the same text for the same cells.
    const shuffled = table.alignTo([...table.ids].reverse()).alignTo(table.ids);
    expect(formatPredictions(shuffled)).toBe(old);
    const binary = table.binary(['epidural', 'subdural', 'any']);
    expect(formatPredictions(binary).split('\n')[1]).toBe('ID_000000,p0,0.0251305,0.158742,0.983481,0,0,1,0,0,1');
  });

  it('name the file, line and column of a bad cell, and a file without score columns', async () => {
    const file = join(dir, 'bad.csv');
    writeFileSync(file, 'id,patient,bleed,true_bleed\nID_a,p1,high,0\n');
    await expect(readPredictionsFile(file)).rejects.toThrow(/bad.csv line 2, column 'bleed': 'high' is not a number/);
    writeFileSync(file, 'id,true_bleed\nID_a,0\n');
    await expect(readPredictionsFile(file)).rejects.toThrow(/bad.csv: no score columns \(its header is 'id,true_bleed'\)/);
  });

  it('refuse a run whose predictions lack the targets of its binary classes, naming the file', async () => {
    const run = join(dir, 'no-truth');
    writePredictions(run, 'validation', new PredictionTable({ ids: ['a'], columns: ['any'], scores: matrix(Float32Array.of(0.5), 1, 1) }));
    await expect(readRunPredictions(run, 'validation', ['any'])).rejects.toThrow(/predictions-oof\.csv: no true_ column for any/);
  });
});
