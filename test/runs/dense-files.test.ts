import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDenseOrdinalGroup } from '../../src/labels/dense-ordinal.ts';
import { readDenseExamples, writeDenseExamples, type DenseExamplesFile } from '../../src/runs/dense-examples.ts';
import { readDenseThresholds, writeDenseThresholds } from '../../src/runs/dense-thresholds.ts';
import { runPath } from '../../src/runs/layout.ts';
import { readRunFiles } from '../../src/runs/run-dir.ts';

/** The two files a dense-ordinal run adds to its directory: written checked, read back checked. */
const dir = mkdtempSync(join(tmpdir(), 'sliceseq-dense-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const group = parseDenseOrdinalGroup({ kind: 'dense-ordinal', name: 'damage', classes: ['a', 'b'], levels: 3 });
const example = { id: 'p0#0', rows: 1, cols: 2, image: { channels: 1, data: [0.1, 0.9] }, truth: [[0, 255], [2, 1]], values: [[0.2, 1.4], [1.9, 0.8]], grades: [[0, 1], [2, 1]] };

describe('dense-ordinal run files', () => {
  it('dense-examples.json and dense-thresholds.json round-trip, and readRunFiles picks up the examples', async () => {
    const file: DenseExamplesFile = { group, thresholds: { a: [0.5, 1.5], b: [0.5, 1.5] }, examples: [example] };
    writeDenseExamples(dir, file);
    expect(readDenseExamples(dir)).toEqual(file);
    const thresholds = { kind: 'dense-ordinal' as const, group: 'damage', mode: 'regression' as const, source: 'fixed', thresholds: file.thresholds, training_combinations: 4 };
    writeDenseThresholds(dir, thresholds);
    expect(readDenseThresholds(dir)).toEqual(thresholds);
    const files = await readRunFiles(dir);
    expect(files.denseExamples).toEqual(file);
    // Only dense runs write them: their absence is not reported as missing.
    expect(files.missing).not.toContain('dense-examples.json');
  });

  it('refuses a map of the wrong size or count before writing, and a malformed file on reading, naming it', () => {
    const other = join(dir, 'bad');
    const badMap = { group, thresholds: {}, examples: [{ ...example, values: [[0.2], [1.9, 0.8]] }] };
    expect(() => writeDenseExamples(other, badMap)).toThrow(/1 values for 1×2 pixels/);
    const badCount = { group, thresholds: {}, examples: [{ ...example, grades: [[0, 1]] }] };
    expect(() => writeDenseExamples(other, badCount)).toThrow(/1 maps, the group has 2 types/);
    expect(existsSync(runPath(other, 'denseExamples'))).toBe(false);
    writeFileSync(runPath(dir, 'denseThresholds'), JSON.stringify({ kind: 'dense-ordinal', group: 'damage' }));
    expect(() => readDenseThresholds(dir)).toThrow(/dense-thresholds\.json/);
  });
});
