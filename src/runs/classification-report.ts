import { z } from 'zod';
import { writeJsonAtomic } from '../core/atomic.ts';
import { readJsonFile } from '../core/json.ts';
import { zeroDivisionSchema } from '../metrics/policy.ts';
import { thresholdSetSchema } from '../metrics/thresholds.ts';
import { runPath } from './layout.ts';

/**
 * `classification-report.json`: per-label precision, recall, F1, F2, support and ROC-AUC on the test split, at 0.5
 * and at the tuned thresholds (report/classification-report.ts computes and renders it).
 */
const nullableNumber = z.number().nullable();
const decisionScoresSchema = z.object({ precision: nullableNumber, recall: nullableNumber, f1: nullableNumber, f2: nullableNumber });
const reportRowSchema = z.object({
  label: z.string(),
  /** Positive targets (for an average row: all positives). */
  support: z.number(),
  auc: nullableNumber,
  untuned: decisionScoresSchema,
  tuned: decisionScoresSchema.extend({ threshold: nullableNumber }).optional(),
});

export const classificationReportSchema = z.object({
  rows: z.number().int(),
  classes: z.array(reportRowSchema),
  averages: z.array(reportRowSchema),
  untunedThreshold: z.number(),
  tunedThresholds: z.object({ kind: thresholdSetSchema.shape.kind, source: thresholdSetSchema.shape.fittedOn.shape.source }).optional(),
  zeroDivision: zeroDivisionSchema,
});
export type DecisionScores = z.output<typeof decisionScoresSchema>;
export type ReportRow = z.output<typeof reportRowSchema>;
export type ClassificationReport = z.output<typeof classificationReportSchema>;

/** `<stem>.json` of a classification report written at `<stem>` (a run's is `<run>/classification-report`). */
export function classificationReportJsonPath(stem: string): string {
  return `${stem}.json`;
}

export function writeClassificationReportJson(stem: string, report: ClassificationReport): string {
  const file = classificationReportJsonPath(stem);
  writeJsonAtomic(file, report);
  return file;
}

export function readClassificationReport(runDir: string): ClassificationReport {
  return readJsonFile(classificationReportSchema, classificationReportJsonPath(runPath(runDir, 'classificationReport')));
}
