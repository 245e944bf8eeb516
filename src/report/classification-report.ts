import { writeFileAtomic } from '../core/atomic.ts';
import { precisionRecallFbeta, precisionRecallFbetaPerClass, type FbetaAverage } from '../metrics/fbeta.ts';
import { checkBinaryProblem, type LabelMatrix, type ScoreMatrix } from '../metrics/matrix.ts';
import { DEFAULT_ZERO_DIVISION, warnToLog, type ReportingOptions, type ZeroDivision } from '../metrics/policy.ts';
import { rocAucPerClass, rocAucScore } from '../metrics/roc-auc.ts';
import type { ThresholdSet } from '../metrics/thresholds.ts';
import { writeClassificationReportJson, type ClassificationReport, type DecisionScores, type ReportRow } from '../runs/classification-report.ts';

/**
 * Per-label precision, recall, F1, F2, support and ROC-AUC, plus the averages, always at the untuned 0.5
 * threshold and — when tuned thresholds are given — at those too, side by side. Rendered as a text table,
 * Markdown and JSON.
 */
export type { ClassificationReport, DecisionScores, ReportRow };

export interface ClassificationReportOptions extends Pick<ReportingOptions, 'warn'> {
  classes: readonly string[];
  /** Tuned thresholds (fitted on validation or out-of-fold predictions) to show beside 0.5. */
  thresholds?: ThresholdSet;
  zeroDivision?: ZeroDivision;
}

const UNTUNED = 0.5;
const averageNames: FbetaAverage[] = ['micro', 'macro', 'weighted', 'samples'];

function decisionScoresPerClass(scores: ScoreMatrix, targets: LabelMatrix, threshold: number | number[], options: ClassificationReportOptions) {
  const common = { threshold, zeroDivision: options.zeroDivision ?? DEFAULT_ZERO_DIVISION, warn: options.warn, classNames: options.classes };
  const f2 = precisionRecallFbetaPerClass(scores, targets, { ...common, beta: 2 });
  // F1 is ill-defined exactly where F2 is, and the F2 call has said so.
  const f1 = precisionRecallFbetaPerClass(scores, targets, { ...common, beta: 1 }, []);
  return options.classes.map((_, j): DecisionScores => ({ precision: f2.precision[j], recall: f2.recall[j], f1: f1.fbeta[j], f2: f2.fbeta[j] }));
}

function decisionScoresAveraged(
  scores: ScoreMatrix,
  targets: LabelMatrix,
  threshold: number | number[],
  average: FbetaAverage,
  options: ClassificationReportOptions,
): DecisionScores {
  const common = { threshold, zeroDivision: options.zeroDivision ?? DEFAULT_ZERO_DIVISION, warn: options.warn, classNames: options.classes };
  const f2 = precisionRecallFbeta(scores, targets, average, { ...common, beta: 2 });
  // F1 is ill-defined exactly where F2 is, and the F2 call has said so.
  const f1 = precisionRecallFbeta(scores, targets, average, { ...common, beta: 1, warn: () => {} });
  return { precision: f2.precision, recall: f2.recall, f1: f1.fbeta, f2: f2.fbeta };
}

export function classificationReport(scores: ScoreMatrix, targets: LabelMatrix, options: ClassificationReportOptions): ClassificationReport {
  const where = 'classification report';
  checkBinaryProblem(scores, targets, where);
  if (options.classes.length !== scores.cols) throw new Error(`${where}: ${options.classes.length} class names for ${scores.cols} columns`);
  const tuned = options.thresholds;
  if (tuned && tuned.classes.join('\u0000') !== options.classes.join('\u0000')) {
    throw new Error(`${where}: thresholds were fitted for classes [${tuned.classes.join(', ')}], the report has [${options.classes.join(', ')}]`);
  }
  const reporting = { warn: options.warn ?? warnToLog, classNames: options.classes };
  const auc = rocAucPerClass(scores, targets, reporting);
  const untunedPerClass = decisionScoresPerClass(scores, targets, UNTUNED, options);
  const tunedPerClass = tuned ? decisionScoresPerClass(scores, targets, tuned.thresholds, options) : undefined;
  const support = options.classes.map((_, j) => {
    let count = 0;
    for (let r = 0; r < targets.rows; r++) count += targets.data[r * targets.cols + j];
    return count;
  });
  const totalSupport = support.reduce((s, v) => s + v, 0);
  const classes = options.classes.map(
    (label, j): ReportRow => ({
      label,
      support: support[j],
      auc: auc[j],
      untuned: untunedPerClass[j],
      ...(tunedPerClass && tuned ? { tuned: { ...tunedPerClass[j], threshold: tuned.thresholds[j] } } : {}),
    }),
  );
  // The per-class ROC-AUC above already named any undefined class.
  const quiet = { warn: () => {} };
  const averages = averageNames.map(
    (average): ReportRow => ({
      label: `${average} avg`,
      support: totalSupport,
      auc: average === 'samples' ? null : rocAucScore(scores, targets, average, quiet),
      untuned: decisionScoresAveraged(scores, targets, UNTUNED, average, options),
      ...(tuned ? { tuned: { ...decisionScoresAveraged(scores, targets, tuned.thresholds, average, options), threshold: null } } : {}),
    }),
  );
  return {
    rows: scores.rows,
    classes,
    averages,
    untunedThreshold: UNTUNED,
    ...(tuned ? { tunedThresholds: { kind: tuned.kind, source: tuned.fittedOn.source } } : {}),
    zeroDivision: options.zeroDivision ?? DEFAULT_ZERO_DIVISION,
  };
}

interface Column {
  title: string;
  value: (row: ReportRow) => string;
}

const fixed = (value: number | null | undefined, digits = 4) => (value === null || value === undefined ? '—' : value.toFixed(digits));

function columns(report: ClassificationReport): Column[] {
  const decision = (side: 'untuned' | 'tuned', suffix: string): Column[] => [
    { title: `precision${suffix}`, value: (row) => fixed(row[side]?.precision) },
    { title: `recall${suffix}`, value: (row) => fixed(row[side]?.recall) },
    { title: `F1${suffix}`, value: (row) => fixed(row[side]?.f1) },
    { title: `F2${suffix}`, value: (row) => fixed(row[side]?.f2) },
  ];
  return [
    { title: 'label', value: (row) => row.label },
    { title: 'support', value: (row) => String(row.support) },
    { title: 'AUC', value: (row) => fixed(row.auc) },
    ...decision('untuned', ` @${report.untunedThreshold}`),
    ...(report.tunedThresholds
      ? [{ title: 'threshold', value: (row: ReportRow) => fixed(row.tuned?.threshold) }, ...decision('tuned', ' tuned')]
      : []),
  ];
}

/** The report as table cells: column titles, one row per class then per average (`split` = first average row). */
export function classificationReportCells(report: ClassificationReport): { titles: string[]; body: string[][]; split: number } {
  const cols = columns(report);
  const rows = [...report.classes, ...report.averages];
  return { titles: cols.map((c) => c.title), body: rows.map((row) => cols.map((c) => c.value(row))), split: report.classes.length };
}

/** One line saying what the table was computed with: rows, thresholds and zero-division policy. */
export function classificationReportCaption(report: ClassificationReport): string {
  const tuned = report.tunedThresholds ? `, tuned ${report.tunedThresholds.kind} thresholds fitted on ${report.tunedThresholds.source} predictions` : '';
  return `${report.rows} rows; untuned threshold ${report.untunedThreshold}${tuned}; zero division: ${report.zeroDivision}`;
}

/** A fixed-width table for the terminal. */
export function formatClassificationReport(report: ClassificationReport): string {
  const { titles, body, split } = classificationReportCells(report);
  const widths = titles.map((title, c) => Math.max(title.length, ...body.map((row) => row[c].length)));
  const line = (row: string[]) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  const rule = '-'.repeat(widths.reduce((s, w) => s + w, 0) + 2 * (widths.length - 1));
  return [line(titles), rule, ...body.slice(0, split).map(line), rule, ...body.slice(split).map(line), '', classificationReportCaption(report)].join('\n');
}

/** A Markdown table (labels escaped so a `|` in a name cannot break it). */
export function classificationReportMarkdown(report: ClassificationReport): string {
  const { titles, body } = classificationReportCells(report);
  const row = (values: string[]) => `| ${values.map((v) => v.replace(/\|/g, '\\|')).join(' | ')} |`;
  const align = `|${titles.map((_, c) => (c === 0 ? ' :--- ' : ' ---: ')).join('|')}|`;
  return [row(titles), align, ...body.map(row), '', `_${classificationReportCaption(report)}_`, ''].join('\n');
}

/** Writes `<basePath>.json` and `<basePath>.md` atomically; returns their paths. */
export function writeClassificationReport(report: ClassificationReport, basePath: string): { json: string; markdown: string } {
  const json = writeClassificationReportJson(basePath, report);
  const markdown = `${basePath}.md`;
  writeFileAtomic(markdown, classificationReportMarkdown(report));
  return { json, markdown };
}
