import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { precisionRecallFbeta, precisionRecallFbetaPerClass } from '../../src/metrics/fbeta.ts';
import { rocAucPerClass } from '../../src/metrics/roc-auc.ts';
import { fitThresholds } from '../../src/metrics/thresholds.ts';
import {
  classificationReport,
  classificationReportMarkdown,
  formatClassificationReport,
  writeClassificationReport,
} from '../../src/report/classification-report.ts';
import { loadFixture, scoresOf, targetsOf, type FixtureCase } from '../metrics/fixtures.ts';

const c = loadFixture<FixtureCase<unknown>>('roc-auc').find((x) => x.name === 'informative')!;
const scores = scoresOf(c);
const targets = targetsOf(c);
const classes = ['epidural', 'subdural', 'subarachnoid', 'intraventricular', 'any'];
const quiet = () => {};
const thresholds = fitThresholds(scores, targets, { source: 'validation', classes, zeroDivision: 0 });

describe('classification report', () => {
  const report = classificationReport(scores, targets, { classes, thresholds, zeroDivision: 0, warn: quiet });

  it('holds per-label precision, recall, F1, F2, support and AUC from the metric functions', () => {
    const f2 = precisionRecallFbetaPerClass(scores, targets, { zeroDivision: 0 });
    const f1 = precisionRecallFbetaPerClass(scores, targets, { zeroDivision: 0, beta: 1 });
    const auc = rocAucPerClass(scores, targets);
    report.classes.forEach((row, j) => {
      expect(row.label).toBe(classes[j]);
      expect(row.support).toBe(f2.support[j]);
      expect(row.auc).toBe(auc[j]);
      expect(row.untuned).toEqual({ precision: f2.precision[j], recall: f2.recall[j], f1: f1.fbeta[j], f2: f2.fbeta[j] });
    });
  });

  it('shows tuned scores beside the untuned ones', () => {
    const tuned = precisionRecallFbetaPerClass(scores, targets, { zeroDivision: 0, threshold: thresholds.thresholds });
    report.classes.forEach((row, j) => {
      expect(row.tuned?.threshold).toBe(thresholds.thresholds[j]);
      expect(row.tuned?.f2).toBe(tuned.fbeta[j]);
    });
    const samples = report.averages.find((row) => row.label === 'samples avg')!;
    expect(samples.untuned.f2).toBe(thresholds.score.untuned);
    expect(samples.tuned?.f2).toBe(thresholds.score.tuned);
    expect(report.averages.map((row) => row.label)).toEqual(['micro avg', 'macro avg', 'weighted avg', 'samples avg']);
    const macro = report.averages.find((row) => row.label === 'macro avg')!;
    expect(macro.untuned.recall).toBe(precisionRecallFbeta(scores, targets, 'macro', { zeroDivision: 0 }).recall);
  });

  it('leaves the tuned columns out without thresholds', () => {
    const plain = classificationReport(scores, targets, { classes, zeroDivision: 0, warn: quiet });
    expect(plain.classes[0].tuned).toBeUndefined();
    expect(formatClassificationReport(plain)).not.toContain('F2 tuned');
  });

  it('renders a table and Markdown with a row per label and average', () => {
    const text = formatClassificationReport(report);
    const header = text.split('\n')[0];
    for (const title of ['label', 'support', 'AUC', 'precision @0.5', 'F2 @0.5', 'threshold', 'F2 tuned']) expect(header).toContain(title);
    expect(text).toContain(`epidural`);
    expect(text).toContain(report.classes[0].untuned.f2!.toFixed(4));
    const markdown = classificationReportMarkdown(report).split('\n');
    const tableLines = markdown.filter((line) => line.startsWith('|'));
    expect(tableLines).toHaveLength(2 + classes.length + 4);
    expect(new Set(tableLines.map((line) => line.split(' | ').length)).size).toBe(1);
  });

  it('writes JSON and Markdown', () => {
    const base = join(mkdtempSync(join(tmpdir(), 'report-')), 'val', 'classification-report');
    const paths = writeClassificationReport(report, base);
    expect(JSON.parse(readFileSync(paths.json, 'utf8'))).toEqual(report);
    expect(readFileSync(paths.markdown, 'utf8')).toBe(classificationReportMarkdown(report));
  });

  it('refuses thresholds fitted for other classes', () => {
    expect(() => classificationReport(scores, targets, { classes: [...classes].reverse(), thresholds, warn: quiet })).toThrow(
      /thresholds were fitted for classes \[epidural/,
    );
  });

  it('shows an undefined AUC as a dash', () => {
    const allPositive = targets.data.slice();
    for (let r = 0; r < c.rows; r++) allPositive[r * c.cols] = 1;
    const messages: string[] = [];
    const odd = classificationReport(scores, { ...targets, data: allPositive }, { classes, zeroDivision: 0, warn: (m) => messages.push(m) });
    expect(odd.classes[0].auc).toBeNull();
    expect(formatClassificationReport(odd).split('\n')[2]).toMatch(/^epidural\s+\d+\s+—/);
    expect(messages.some((m) => m.includes('epidural (no negative target)'))).toBe(true);
  });
});
