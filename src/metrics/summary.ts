import type { FbetaAverage } from './fbeta.ts';
import { f2Key, metricKeys, type SplitScores } from './scores.ts';
import { MetricAccumulator } from './accumulate.ts';
import type { LabelMatrix, ScoreMatrix, Warn } from './matrix.ts';
import { warnToLog, type ZeroDivision } from './policy.ts';
import { createMetric, metricContext, type Metric, type MetricContext, type MetricValue } from './registry.ts';
import type { ThresholdSet } from './thresholds.ts';
import type { LabelSchema } from '../labels/schema.ts';

/**
 * The one scoring path of a split: every number a run reports for validation and test (and `metrics.json` holds
 * under `val` and `test`, and the leaderboard reads) is a registered metric, computed by one MetricAccumulator
 * over all the split's rows at once (counts accumulated, one reduction; never an average of batch values). For
 * binary labels: F2 at 0.5 and, with tuned thresholds, beside it; ROC-AUC; average precision; log loss. For
 * categorical and ordinal groups: their own metrics under `groups.<name>`, and the means a run can monitor.
 */
export interface SummaryOptions {
  /** Thresholds fitted on validation / out-of-fold predictions; never fitted on the split summarised here. */
  thresholds?: ThresholdSet;
  zeroDivision?: ZeroDivision;
  warn?: Warn;
}

const averages = ['samples', 'micro', 'macro', 'weighted'] as const satisfies readonly FbetaAverage[];

/** A metric and where its value goes in the score block; `quiet` ones leave their notes to another (e.g. per-class AUC names undefined classes once). */
interface Entry {
  path: string;
  config: { name: string } & Record<string, unknown>;
  quiet?: boolean;
}

function binaryEntries(options: SummaryOptions, classes: readonly string[]): Entry[] {
  if (options.thresholds && options.thresholds.classes.join('\u0000') !== classes.join('\u0000')) {
    throw new Error(`summary: thresholds were fitted for classes [${options.thresholds.classes.join(', ')}], not [${classes.join(', ')}]`);
  }
  const f2 = (tuned: boolean, threshold: number | number[]): Entry[] =>
    averages.map((average) => ({ path: f2Key(average, tuned).path, config: { name: 'f2', average, threshold, ...(options.zeroDivision !== undefined ? { zeroDivision: options.zeroDivision } : {}) } }));
  return [
    ...f2(false, 0.5),
    ...(options.thresholds ? f2(true, options.thresholds.thresholds) : []),
    { path: metricKeys.aucMacro.path, config: { name: 'auc', average: 'macro' }, quiet: true },
    { path: metricKeys.aucMicro.path, config: { name: 'auc', average: 'micro' } },
    { path: metricKeys.aucWeighted.path, config: { name: 'auc', average: 'weighted' }, quiet: true },
    { path: metricKeys.aucPerClass.path, config: { name: 'auc', average: 'none' } },
    { path: metricKeys.apMacro.path, config: { name: 'average_precision', average: 'macro' } },
    { path: metricKeys.apMicro.path, config: { name: 'average_precision', average: 'micro' } },
    { path: metricKeys.logloss.path, config: { name: 'logloss' } },
    { path: metricKeys.brier.path, config: { name: 'brier', average: 'macro' } },
    { path: metricKeys.ece.path, config: { name: 'ece', average: 'macro' } },
  ];
}

function groupEntries(schema: LabelSchema): Entry[] {
  const categorical = schema.groups.filter((g) => g.kind === 'categorical').map((g) => g.name);
  const ordinal = schema.groups.filter((g) => g.kind === 'ordinal').map((g) => g.name);
  return [
    ...categorical.flatMap((group) => [
      { path: `groups.${group}.auc_macro`, config: { name: 'auc', average: 'macro', groups: [group] } },
      { path: `groups.${group}.confusion`, config: { name: 'confusion', group } },
    ]),
    ...(categorical.length > 0 ? [{ path: metricKeys.categoricalAuc.path, config: { name: 'auc', average: 'macro', groups: categorical } }] : []),
    ...ordinal.flatMap((group) => [
      { path: `groups.${group}.accuracy`, config: { name: 'ordinal_accuracy', group } },
      { path: `groups.${group}.mae`, config: { name: 'ordinal_mae', group } },
      { path: `groups.${group}.qwk`, config: { name: 'qwk', group } },
      { path: `groups.${group}.confusion`, config: { name: 'ordinal_confusion', group } },
    ]),
  ];
}

function setAt(root: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = root;
  for (const key of keys.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
  node[keys.at(-1)!] = value;
}

/** Computes the entries' metrics in one accumulator over all rows, and nests their values by path. */
function compute(entries: readonly Entry[], context: MetricContext, scores: ScoreMatrix, targets: LabelMatrix, warn: Warn): Record<string, unknown> {
  const quiet: Warn = () => {};
  const list: Metric[] = entries.map(({ path, config, quiet: silent }) => {
    const metric = createMetric(config, context);
    return { ...metric, label: path, compute: (p, t, _warn, rowNames) => metric.compute(p, t, silent ? quiet : warn, rowNames) };
  });
  const accumulator = new MetricAccumulator(list, warn);
  accumulator.update(scores, targets);
  const values: Record<string, MetricValue> = accumulator.compute();
  const block: Record<string, unknown> = {};
  for (const { path } of entries) setAt(block, path, values[path]);
  return block;
}

/** The mean of the defined values; null when none is. */
function meanOfDefined(values: ReadonlyArray<number | null>): number | null {
  const defined = values.filter((v): v is number => v !== null && Number.isFinite(v));
  return defined.length > 0 ? defined.reduce((sum, v) => sum + v, 0) / defined.length : null;
}

/**
 * Every score of a split of a label schema's rows, in the target layout (probabilities for binary and categorical
 * classes, a grade value per ordinal class): the binary summary (when the schema has binary labels), and per
 * categorical group its classes, one-vs-rest ROC-AUC macro, arg-max accuracy and confusion matrix; per ordinal
 * group exact grade accuracy, grade MAE, quadratic weighted kappa (each per class and their mean) and grade
 * confusions; at the top the means across groups (`categorical_auc`, `ordinal_accuracy`, `qwk`).
 */
export function scoreSplit(schema: LabelSchema, scores: ScoreMatrix, targets: LabelMatrix, options: SummaryOptions): SplitScores {
  const context = metricContext(schema);
  const binary = schema.groups.filter((g) => g.kind === 'binary').flatMap((g) => g.classes);
  const entries = [...(binary.length > 0 ? binaryEntries(options, binary) : []), ...groupEntries(schema)];
  const block = compute(entries, context, scores, targets, options.warn ?? warnToLog);
  const groups = (block.groups ?? {}) as Record<string, Record<string, unknown>>;
  for (const group of schema.groups) {
    const scored = groups[group.name];
    if (group.kind === 'categorical') {
      const confusion = scored.confusion as number[][];
      const total = confusion.flat().reduce((sum, n) => sum + n, 0);
      groups[group.name] = { kind: 'categorical', classes: group.classes, auc_macro: scored.auc_macro, accuracy: confusion.reduce((sum, row, k) => sum + row[k], 0) / total, confusion };
    } else if (group.kind === 'ordinal') {
      groups[group.name] = { kind: 'ordinal', ...scored, confusion: (scored.confusion as { perClass: unknown }).perClass };
    }
  }
  const ordinal = schema.groups.filter((g) => g.kind === 'ordinal').map((g) => g.name);
  const { groups: _groups, ...rest } = block;
  return {
    ...(binary.length > 0 ? { rows: scores.rows } : {}),
    ...rest,
    ...(binary.length > 0 && options.thresholds ? { thresholds: [...options.thresholds.thresholds] } : {}),
    ...(ordinal.length > 0
      ? {
          [metricKeys.ordinalAccuracy.path]: meanOfDefined(ordinal.map((g) => (groups[g].accuracy as { mean: number | null }).mean)),
          [metricKeys.qwk.path]: meanOfDefined(ordinal.map((g) => (groups[g].qwk as { mean: number | null }).mean)),
        }
      : {}),
    ...(Object.keys(groups).length > 0 ? { groups } : {}),
  };
}
