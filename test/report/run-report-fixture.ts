import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../src/core/rng.ts';
import { matrix } from '../../src/metrics/matrix.ts';
import type { LabelSchema } from '../../src/labels/schema.ts';
import { scoreSplit } from '../../src/metrics/summary.ts';
import { fitThresholds } from '../../src/metrics/thresholds.ts';
import { classificationReport, writeClassificationReport } from '../../src/report/classification-report.ts';
import { writeSteps } from '../../src/runs/steps.ts';
import { runPath, writeEnvironment, writeHistory, writePredictions, writeRunConfig, writeRunMetrics, writeRunThresholds } from '../../src/runs/index.ts';
import { PredictionTable } from '../../src/metrics/prediction-table.ts';

/**
 * A finished run directory written without training, through the same metric and report writers a run uses, for
 * any class names (a label schema only allows [A-Za-z0-9_.-], but a run directory from elsewhere, or edited by
 * hand, may hold anything, and the report must show it as text).
 */
export interface SyntheticRunOptions {
  classes: string[];
  description?: string;
  dataSource?: string;
  /** Rows of the validation and test predictions. */
  rows?: number;
  epochs?: number;
  seed?: number;
  /** Shifts the training curves (runs compared side by side differ). */
  offset?: number;
  /** Written as config.json instead of the default (e.g. a trial's resolved experiment). */
  config?: { name: string; seed: number } & Record<string, unknown>;
}

/** Scores that rank positives higher than negatives most of the time, so every curve has a shape. */
function split(rng: Rng, rows: number, classes: string[], prefix: string) {
  const cols = classes.length;
  const targets = new Uint8Array(rows * cols);
  const scores = new Float64Array(rows * cols);
  for (let i = 0; i < rows * cols; i++) {
    targets[i] = rng.float() < 0.35 ? 1 : 0;
    scores[i] = Number(Math.min(0.999, Math.max(0.001, 0.3 + 0.35 * targets[i] + 0.25 * rng.normal())).toPrecision(6));
  }
  const ids = Array.from({ length: rows }, (_, r) => `${prefix}-${r}`);
  return { ids, scores: matrix(scores, rows, cols), targets: matrix(targets, rows, cols) };
}

function predictionTable(classes: string[], part: ReturnType<typeof split>): PredictionTable {
  return new PredictionTable({ ids: part.ids, columns: classes, scores: part.scores, truth: { columns: classes, values: part.targets } });
}

export function writeSyntheticRun(options: SyntheticRunOptions): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'sliceseq-report-')), 'synthetic-seed0-fold0');
  mkdirSync(dir, { recursive: true });
  const rng = Rng.derive(options.seed ?? 0, 'synthetic-run');
  const rows = options.rows ?? 40;
  const { classes } = options;
  const validation = split(rng, rows, classes, 'val');
  const test = split(rng, rows, classes, 'test');
  const quiet = { warn: () => {} };
  const thresholds = fitThresholds(validation.scores, validation.targets, { source: 'validation', classes, zeroDivision: 1 });
  // Built, not parsed: the hostile-text fixture's class names are ones a label schema refuses, and reports must still escape them.
  const schema = { groups: [{ kind: 'binary', name: 'labels', classes }] } as unknown as LabelSchema;
  const summary = (part: typeof validation) => ({ ...scoreSplit(schema, part.scores, part.targets, { thresholds, zeroDivision: 1, ...quiet }), loss: 0.5 });
  const epochs = options.epochs ?? 3;
  const history = Array.from({ length: epochs }, (_, e) => ({
    epoch: e + 1,
    step: 10 * (e + 1),
    learning_rate: 0.01 * 0.5 ** e,
    train_loss: 1 / (e + 1) + (options.offset ?? 0),
    epoch_seconds: 10 + e,
    train_seconds: 8 + e,
    train_slices_per_second: 40 + e,
    data_wait_fraction: 0.125 * (e + 1),
    val: { loss: 1.2 / (e + 1) + (options.offset ?? 0), f2: { samples: 0.4 + 0.1 * e - (options.offset ?? 0), micro: 0.45 + 0.1 * e, macro: 0.3 + 0.1 * e }, auc: { macro: 0.6 + 0.05 * e }, average_precision: { macro: 0.5 + 0.05 * e } },
  }));
  writeRunConfig(dir, options.config ?? {
    name: 'synthetic',
    description: options.description ?? 'a run written without training',
    seed: 0,
    data: { dataset: { name: 'rsna-ich', root: join(dir, 'no-such-data') }, preprocess: [{ name: 'window', windows: ['brain'] }] },
  });
  writeEnvironment(dir, {
    sliceseq: '0.1.0',
    node: process.version,
    tfjs: '4.22.0',
    backend: 'cpu',
    device: 'CPU',
    seed: 0,
    data: { source: options.dataSource ?? '/data/rsna', fingerprint: '0123456789abcdef', patients: 2 * rows },
    split: { train: [], val: validation.ids, test: test.ids },
  });
  writeHistory(dir, history);
  // Ten steps per epoch, the loss falling with noise, the learning rate halved each epoch.
  writeSteps(dir, Array.from({ length: 10 * epochs }, (_, i) => ({ step: i + 1, epoch: Math.floor(i / 10) + 1, loss: 1 / (1 + i / 10) + 0.1 * rng.float() + (options.offset ?? 0), learning_rate: 0.01 * 0.5 ** Math.floor(i / 10) })));
  writeRunMetrics(dir, { best_epoch: epochs, stopped: null, val: summary(validation), test: summary(test) });
  writeRunThresholds(dir, thresholds);
  writePredictions(dir, 'validation', predictionTable(classes, validation));
  writePredictions(dir, 'test', predictionTable(classes, test));
  writeClassificationReport(classificationReport(test.scores, test.targets, { classes, thresholds, zeroDivision: 1, ...quiet }), runPath(dir, 'classificationReport'));
  return dir;
}
