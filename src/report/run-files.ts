import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { z } from 'zod';
import { parseOrThrow } from '../core/validate.ts';
import { readCsv, requireColumns, at } from '../data/datasets/csv.ts';
import { matrix, type LabelMatrix, type ScoreMatrix } from '../metrics/matrix.ts';
import { loadThresholds, type ThresholdSet } from '../metrics/thresholds.ts';
import { ATTENTION_JSON, attentionFileSchema, type AttentionFile } from '../models/attention-file.ts';
import type { ClassificationReport } from './classification-report.ts';

/**
 * What a run directory holds, read back for the report: every file is optional (an interrupted or old run has
 * fewer), every file present is checked, and a bad one is an error naming the file and line or field.
 */

export type JsonObject = Record<string, unknown>;

/** One split's predictions of the binary classes, from `predictions-oof.csv` or `predictions-test.csv`. */
export interface PredictionFile {
  file: string;
  ids: string[];
  classes: string[];
  scores: ScoreMatrix;
  targets: LabelMatrix;
}

export interface RunFiles {
  dir: string;
  name: string;
  config?: JsonObject;
  environment?: JsonObject;
  /** One record per epoch, in file order (history.jsonl). */
  history: JsonObject[];
  metrics?: JsonObject;
  thresholds?: ThresholdSet;
  classificationReport?: ClassificationReport;
  /** The binary classes the predictions are read for (from thresholds.json or classification-report.json). */
  classes: string[];
  validation?: PredictionFile;
  test?: PredictionFile;
  /** attention.json: only runs whose label decoder is the class-query decoder write it (never listed as missing). */
  attention?: AttentionFile;
  /** Run files that are absent (the report says which sections they would have filled). */
  missing: string[];
}

function readJsonObject(file: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`cannot read ${file}: ${(error as Error).message}`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${file}: expected a JSON object`);
  return value as JsonObject;
}

function readHistory(file: string): JsonObject[] {
  const records: JsonObject[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((text, index) => {
      if (text.trim() === '') return;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (error) {
        throw new Error(`${at(file, index + 1)}: not JSON (${(error as Error).message})`);
      }
      const record = value as JsonObject;
      if (!record || typeof record !== 'object' || !Number.isInteger(record.epoch)) throw new Error(`${at(file, index + 1)}: expected an object with an integer 'epoch'`);
      records.push(record);
    });
  return records;
}

const nullableNumber = z.number().nullable();
const decisionSchema = z.object({ precision: nullableNumber, recall: nullableNumber, f1: nullableNumber, f2: nullableNumber });
const reportRowSchema = z.object({
  label: z.string(),
  support: z.number(),
  auc: nullableNumber,
  untuned: decisionSchema,
  tuned: decisionSchema.extend({ threshold: nullableNumber }).optional(),
});
const classificationReportSchema = z.object({
  rows: z.number().int(),
  classes: z.array(reportRowSchema),
  averages: z.array(reportRowSchema),
  untunedThreshold: z.number(),
  tunedThresholds: z.object({ kind: z.enum(['per-class', 'global']), source: z.enum(['validation', 'out-of-fold']) }).optional(),
  zeroDivision: z.union([z.literal('warn'), z.literal(0), z.literal(1)]),
});

function numberCell(text: string, file: string, line: number, column: string): number {
  const value = text.trim() === '' ? Number.NaN : Number(text);
  if (!Number.isFinite(value)) throw new Error(`${at(file, line, column)}: '${text}' is not a number`);
  return value;
}

/** The binary classes' scores and targets of a predictions CSV (columns `<class>` and `true_<class>`). */
async function readPredictions(file: string, classes: readonly string[]): Promise<PredictionFile> {
  const table = await readCsv(file);
  requireColumns(table, ['id', ...classes, ...classes.map((c) => `true_${c}`)]);
  const rows = table.rows.length;
  const scores = new Float64Array(rows * classes.length);
  const targets = new Uint8Array(rows * classes.length);
  table.rows.forEach(({ line, cells }, r) => {
    classes.forEach((name, j) => {
      scores[r * classes.length + j] = numberCell(cells[name], file, line, name);
      const truth = numberCell(cells[`true_${name}`], file, line, `true_${name}`);
      if (truth !== 0 && truth !== 1) throw new Error(`${at(file, line, `true_${name}`)}: target ${truth} is not 0 or 1`);
      targets[r * classes.length + j] = truth;
    });
  });
  return {
    file,
    ids: table.rows.map((row) => row.cells.id),
    classes: [...classes],
    scores: matrix(scores, rows, classes.length),
    targets: matrix(targets, rows, classes.length),
  };
}

/** Reads every report input a run directory has. */
export async function readRunFiles(runDir: string): Promise<RunFiles> {
  const dir = resolve(runDir);
  if (!existsSync(dir)) throw new Error(`run directory ${dir} does not exist`);
  const missing: string[] = [];
  const path = (name: string) => {
    const file = join(dir, name);
    if (existsSync(file)) return file;
    missing.push(name);
    return undefined;
  };
  const configFile = path('config.json');
  const environmentFile = path('environment.json');
  const historyFile = path('history.jsonl');
  const metricsFile = path('metrics.json');
  const thresholdsFile = path('thresholds.json');
  const reportFile = path('classification-report.json');
  const thresholds = thresholdsFile ? loadThresholds(thresholdsFile) : undefined;
  const classificationReport = reportFile
    ? parseOrThrow(classificationReportSchema, readJsonObject(reportFile), reportFile)
    : undefined;
  const classes = thresholds?.classes ?? classificationReport?.classes.map((row) => row.label) ?? [];
  const validationFile = path('predictions-oof.csv');
  const testFile = path('predictions-test.csv');
  const attentionFile = join(dir, ATTENTION_JSON);
  const predictions = async (file: string | undefined) => (file && classes.length > 0 ? readPredictions(file, classes) : undefined);
  return {
    dir,
    name: basename(dir),
    config: configFile ? readJsonObject(configFile) : undefined,
    environment: environmentFile ? readJsonObject(environmentFile) : undefined,
    history: historyFile ? readHistory(historyFile) : [],
    metrics: metricsFile ? readJsonObject(metricsFile) : undefined,
    thresholds,
    classificationReport,
    classes,
    validation: await predictions(validationFile),
    test: await predictions(testFile),
    attention: existsSync(attentionFile) ? parseOrThrow(attentionFileSchema, readJsonObject(attentionFile), attentionFile) : undefined,
    missing,
  };
}

/** The value at a dot path of a JSON object (`val.f2.samples`), or undefined where any step is absent. */
export function fieldAt(root: unknown, path: string): unknown {
  let current = root;
  for (const key of path.split('.')) {
    if (!current || typeof current !== 'object') return undefined;
    current = (current as JsonObject)[key];
  }
  return current;
}

/** A number at a dot path: undefined when absent or null, an error naming the file and field when not a number. */
export function numberAt(root: unknown, path: string, where: string): number | undefined {
  const value = fieldAt(root, path);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`${where}: '${path}' is ${JSON.stringify(value)}, expected a number`);
  return value;
}
