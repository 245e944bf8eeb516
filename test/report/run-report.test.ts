import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerReport } from '../../src/cli/commands/report.ts';
import { loadDataset } from '../../src/data/datasets/registry.ts';
import { runExperiment } from '../../src/experiments/run.ts';
import { writeRunReport, type RunReportResult } from '../../src/report/run-report.ts';
import { buildSliceStages } from '../../src/report/slice-stages.ts';
import { runCli } from '../helpers/cli.ts';
import { tinyDemoData, tinyExperiment } from '../train/helpers.ts';

const figures = ['loss', 'metrics', 'auc-per-class', 'learning-rate', 'step-loss', 'roc', 'precision-recall', 'f2-threshold', 'confusion', 'reliability', 'slices'];

/** `sliceseq report …` in this process; returns what it printed. */
const reportCli = (...args: string[]) => runCli(registerReport, 'report', ...args);

describe('the report of a real tiny run', () => {
  let runDir: string;
  let data: string;
  let result: RunReportResult;
  let page: string;

  beforeAll(async () => {
    ({ data } = await tinyDemoData());
    // CLAHE in the pipeline, so the strip shows it before and after, as the run applied it.
    const experiment = tinyExperiment(data);
    (experiment.data as { preprocess: unknown[] }).preprocess = [
      { name: 'window', windows: ['brain', 'subdural', 'bone'] },
      { name: 'clahe' },
      { name: 'flip', horizontal: 0.5 },
    ];
    ({ runDir } = await runExperiment(experiment, { out: join(data, '..', 'runs') }));
    result = await writeRunReport(runDir);
    page = readFileSync(result.html, 'utf8');
  });

  it('writes every figure as SVG and PNG and draws it inline in report.html', async () => {
    for (const name of figures) {
      const svg = readFileSync(join(runDir, 'figures', `${name}.svg`), 'utf8');
      expect(svg.startsWith('<svg'), name).toBe(true);
      const png = await sharp(join(runDir, 'figures', `${name}.png`)).metadata();
      expect(png.format).toBe('png');
      expect(png.width, name).toBeGreaterThan(200);
      expect(page).toContain(`<figure class="chart" id="figure-${name}" data-figure="${name}">`);
    }
    expect(result.figures).toHaveLength(2 * figures.length);
    // Self-contained: no script, nothing fetched (links point at the figure files beside the page).
    expect(page).not.toMatch(/<script|<link|src="http/i);
  });

  it('reads the run: loss per epoch, the tuned thresholds and the test classification report', () => {
    const history = readFileSync(join(runDir, 'history.jsonl'), 'utf8').trim().split('\n');
    const loss = readFileSync(join(runDir, 'figures', 'loss.svg'), 'utf8');
    // One point per epoch and series (train, validation) plus the best-epoch rule.
    expect(loss.match(/aria-roledescription="point"/g)).toHaveLength(2 * history.length);
    const thresholds = JSON.parse(readFileSync(join(runDir, 'thresholds.json'), 'utf8'));
    const confusion = readFileSync(join(runDir, 'figures', 'confusion.svg'), 'utf8');
    expect(confusion).toContain(`t = ${thresholds.thresholds[0].toFixed(3)}`);
    const report = JSON.parse(readFileSync(join(runDir, 'classification-report.json'), 'utf8'));
    expect(page).toContain(`<td>${report.classes[0].label}</td>`);
    expect(page).toContain('Best epoch');
  });

  it('shows one validation patient through the run preprocessing, each window channel, CLAHE and one augmentation', () => {
    const strip = readFileSync(join(runDir, 'figures', 'slices.svg'), 'utf8');
    for (const row of ['raw (own range)', 'window: brain', 'window: subdural', 'window: bone', 'before CLAHE', 'after CLAHE', 'one augmentation draw']) {
      expect(strip).toContain(`>${row}</text>`);
    }
    const environment = JSON.parse(readFileSync(join(runDir, 'environment.json'), 'utf8'));
    expect(environment.split.val.some((id: string) => strip.includes(id))).toBe(true);
    // 7 stages × 4 slices, each an embedded PNG.
    expect(strip.match(/href="data:image\/png;base64,/g)).toHaveLength(7 * 4);
  });

  it('previews CLAHE and notes the missing augmentation when the pipeline has neither', async () => {
    const dataset = await loadDataset({ name: 'rsna-ich', root: data, cacheDir: null });
    const stages = await buildSliceStages(dataset, { preprocess: [{ name: 'window', windows: [{ center: 40, width: 80 }] }], seed: 0, candidates: [dataset.patients[3].id], maxSlices: 2 });
    expect(stages.patientId).toBe(dataset.patients[3].id);
    expect(stages.sliceIndices).toEqual([0, 3]);
    expect(stages.rows.map((row) => row.label)).toEqual(['raw (own range)', 'window: 40/80', 'before CLAHE (not in this run)', 'after CLAHE (preview, defaults)']);
    expect(stages.rows.every((row) => row.tiles.length === 2)).toBe(true);
    expect(stages.notes).toEqual(['the preprocessing has no random augmentation step, so there is no augmentation draw to show']);
  });

  it('notes a patient the dataset does not have instead of failing, and rejects a bad --strip-slices', async () => {
    const { notes } = await writeRunReport(runDir, { patient: 'no-such-patient' });
    expect(notes).toContain("slice strip skipped: could not draw it (patient 'no-such-patient' is not in the dataset)");
    await expect(reportCli(runDir, '--strip-slices', '0')).rejects.toThrow(/--strip-slices must be a positive whole number, got '0'/);
  });

  it('is regenerated by `sliceseq report`, skipping the strip gracefully when the data has moved', async () => {
    const moved = `${data}-moved`;
    renameSync(data, moved);
    try {
      const printed = await reportCli(runDir);
      expect(printed.trim()).toBe(join(runDir, 'report.html'));
      const regenerated = readFileSync(join(runDir, 'report.html'), 'utf8');
      expect(regenerated).toContain('Slice strip not drawn: the dataset is not available');
      expect(existsSync(join(runDir, 'figures', 'slices.svg'))).toBe(false);
      // --data points the strip at the moved dataset: the page is again the one first written.
      await reportCli(runDir, '--data', moved);
      expect(readFileSync(join(runDir, 'report.html'), 'utf8')).toBe(page);
    } finally {
      renameSync(moved, data);
    }
  });
});
