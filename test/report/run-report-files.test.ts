import { appendFileSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeRunReport, type RunReportResult } from '../../src/report/run-report.ts';
import { escapeHtml, html } from '../../src/report/html.ts';
import { writeSyntheticRun } from './run-report-fixture.ts';

// A run directory whose text is hostile: the report must show every piece of it as text, never as markup.
const hostile = {
  classes: ['<script>alert(1)</script>', 'a&b "quoted"', 'subdural'],
  description: '<img src=x onerror="alert(2)"> & friends',
  dataSource: '/data/<b>bold</b>&co',
};

/** Mark groups vega left empty (a layer that drew nothing), by figure. */
function emptyMarkGroups(svg: string): number {
  return (svg.match(/<g class="mark-[a-z]+ role-mark[^"]*"[^>]*\/>/g) ?? []).length;
}

describe('run report of a run directory with hostile text', () => {
  let dir: string;
  let result: RunReportResult;
  let page: string;

  beforeAll(async () => {
    dir = writeSyntheticRun(hostile);
    result = await writeRunReport(dir);
    page = readFileSync(result.html, 'utf8');
  });

  it('shows class names, descriptions and paths as text', () => {
    expect(page).not.toMatch(/<script/i);
    expect(page).not.toMatch(/<img/i);
    expect(page).not.toMatch(/<b>bold/);
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page).toContain(escapeHtml(hostile.description));
    expect(page).toContain(escapeHtml(hostile.dataSource));
    expect(page).toContain('a&amp;b &quot;quoted&quot;');
    // The SVG files escape them too (vega writes text content escaped).
    for (const name of ['roc', 'confusion', 'f2-threshold']) {
      const svg = readFileSync(join(dir, 'figures', `${name}.svg`), 'utf8');
      expect(svg).not.toMatch(/<script/i);
      expect(svg).toContain('&lt;script&gt;');
    }
  });

  it('draws every figure, inline and as SVG and PNG files, with no empty layer', () => {
    const figures = ['loss', 'metrics', 'learning-rate', 'step-loss', 'roc', 'precision-recall', 'f2-threshold', 'confusion', 'reliability'];
    expect(result.figures.map((path) => path.slice(dirname(path).length + 1)).sort()).toEqual(figures.flatMap((f) => [`${f}.png`, `${f}.svg`]).sort());
    for (const name of figures) {
      const svg = readFileSync(join(dir, 'figures', `${name}.svg`), 'utf8');
      expect(svg.startsWith('<svg'), name).toBe(true);
      expect(emptyMarkGroups(svg), `${name} has an empty layer`).toBe(0);
      expect(page).toContain(`data-figure="${name}"`);
      expect(readFileSync(join(dir, 'figures', `${name}.png`)).subarray(1, 4).toString()).toBe('PNG');
    }
    // Definition ids are prefixed by figure, so inline SVGs never share one.
    const ids = [...page.matchAll(/ id="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('has the summary, the classification report and a note on the missing dataset', () => {
    const metrics = JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8'));
    expect(page).toContain(`<td class="num">${metrics.test.f2_tuned.samples.toFixed(4)}</td>`);
    const report = JSON.parse(readFileSync(join(dir, 'classification-report.json'), 'utf8'));
    for (const row of report.classes) expect(page).toContain(html`<td>${row.label}</td>`.markup);
    expect(result.notes.some((note) => /slice strip skipped: the dataset is not available/.test(note))).toBe(true);
    expect(page).toContain('Slice strip not drawn');
  });

  it('has each epoch\'s wall time, training slices/s and data-wait share', () => {
    expect(page).toContain('<th>waiting for data</th>');
    expect(page).toMatch(/<td class="num">2<\/td><td class="num">11\.0<\/td><td class="num">41\.0<\/td><td class="num">25\.0%<\/td>/);
  });

  it('draws a reliability diagram per class and pooled, with ECE and Brier from the registered metrics', async () => {
    const { brierScorePerClass, expectedCalibrationErrorPerClass, expectedCalibrationError } = await import('../../src/metrics/calibration.ts');
    const { readRunFiles } = await import('../../src/runs/run-dir.ts');
    const test = (await readRunFiles(dir)).test!;
    const svg = readFileSync(join(dir, 'figures', 'reliability.svg'), 'utf8');
    expect(svg).toContain('all classes (pooled)');
    const ece = expectedCalibrationErrorPerClass(test.scores, test.targets());
    const brier = brierScorePerClass(test.scores, test.targets());
    expect(page).toContain(`<td>subdural</td><td class="num">${ece[2].toFixed(4)}</td><td class="num">${brier[2].toFixed(4)}</td>`);
    expect(page).toContain(`<td>all classes (pooled)</td><td class="num">${expectedCalibrationError(test.scores, test.targets(), 'micro').toFixed(4)}</td>`);
  });

  it('plots the learning-rate schedule and the per-step loss from steps.jsonl', () => {
    const rate = readFileSync(join(dir, 'figures', 'learning-rate.svg'), 'utf8');
    const loss = readFileSync(join(dir, 'figures', 'step-loss.svg'), 'utf8');
    // One line per series (the loss and its moving average); grey rules at the 3 epoch ends.
    expect(loss.match(/aria-roledescription="line mark"/g)).toHaveLength(2);
    expect(loss.match(/aria-roledescription="rule mark"/g)).toHaveLength(3);
    expect(rate).toContain('learning rate');
    expect(page).toContain('The learning rate of every step');
  });

  it('is the same page when written again from the same files', async () => {
    await writeRunReport(dir);
    expect(readFileSync(result.html, 'utf8')).toBe(page);
  });
});

describe('run report of partial and broken run directories', () => {
  it('reports what an interrupted run has (history only) and says what is missing', async () => {
    const full = writeSyntheticRun({ classes: ['a', 'b'] });
    const partial = join(dirname(full), 'interrupted');
    mkdirSync(partial);
    for (const file of ['config.json', 'environment.json', 'history.jsonl']) copyFileSync(join(full, file), join(partial, file));
    const result = await writeRunReport(partial, { slices: false });
    const page = readFileSync(result.html, 'utf8');
    // Without steps.jsonl, the learning rate per epoch from history.jsonl.
    expect(result.figures.map((p) => p.slice(dirname(p).length + 1)).sort()).toEqual(['learning-rate.png', 'learning-rate.svg', 'loss.png', 'loss.svg', 'metrics.png', 'metrics.svg']);
    expect(page).toContain('metrics.json is not in the run directory');
    expect(page).toContain('No predictions to draw curves from.');
  });

  it('names the file and line of a bad history record, and the file, line and column of a bad prediction', async () => {
    const dir = writeSyntheticRun({ classes: ['a', 'b'] });
    appendFileSync(join(dir, 'history.jsonl'), '{"epoch": 4, "train_loss": "high"}\n');
    await expect(writeRunReport(dir, { slices: false })).rejects.toThrow(/history\.jsonl epoch 4: 'train_loss' is "high", expected a number/);
    writeFileSync(join(dir, 'history.jsonl'), 'not json\n');
    await expect(writeRunReport(dir, { slices: false })).rejects.toThrow(/history\.jsonl line 1: not JSON/);

    const other = writeSyntheticRun({ classes: ['a', 'b'] });
    const csv = join(other, 'predictions-test.csv');
    const lines = readFileSync(csv, 'utf8').split('\n');
    lines[2] = lines[2].replace(/,[01]$/, ',2');
    writeFileSync(csv, lines.join('\n'));
    await expect(writeRunReport(other, { slices: false })).rejects.toThrow(/predictions-test\.csv line 3, column 'true_b': target 2 is not 0 or 1/);
  });

  it('fails clearly for a directory that does not exist', async () => {
    await expect(writeRunReport('/no/such/run')).rejects.toThrow(/run directory \/no\/such\/run does not exist/);
  });
});
