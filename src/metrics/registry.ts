import { z } from 'zod';
import { Registry } from '../core/registry.ts';
import { groupSpans, ordinalThresholds, targetColumns, type LabelGroup, type LabelSchema } from '../labels/schema.ts';
import { averagePrecisionPerClass, averagePrecisionScore } from './average-precision.ts';
import { brierScore, brierScorePerClass, expectedCalibrationError, expectedCalibrationErrorPerClass } from './calibration.ts';
import type { ScoreFunction } from './bootstrap.ts';
import { categoricalConfusion, confusionMatrix, multilabelConfusion } from './confusion.ts';
import { fbetaScore, precisionRecallFbetaPerClass, precisionScore, recallScore, type PrfQuantity } from './fbeta.ts';
import { classWeightsByName, logLoss } from './log-loss.ts';
import { checkSameShape, column, selectColumns, type LabelMatrix, type ScoreMatrix, type Warn } from './matrix.ts';
import { checkGrades, gradesFromValues, ordinalAccuracy, ordinalMae, quadraticWeightedKappa } from './ordinal.ts';
import { absentClassSchema, warnToLog, zeroDivisionSchema, type ReportingOptions } from './policy.ts';
import { rocAucPerClass, rocAucScore } from './roc-auc.ts';

/**
 * Every metric by name, built from a plain config such as `{ name: 'f2', average: 'samples', threshold: 0.5,
 * zeroDivision: 0 }`. A metric reads the full prediction and target matrices of a label schema, in the target
 * layout (probabilities for binary and categorical classes, a grade value per ordinal class), and picks its
 * own columns: binary metrics score the binary groups unless `groups` names others.
 */
export type MetricValue = number | null | number[][] | { [key: string]: MetricValue };

export interface MetricContext {
  /** Column names of the matrices (for a schema: `targetColumns(schema)`). */
  columns: readonly string[];
  /** Needed by group metrics (ordinal, categorical confusion) and by `groups`. */
  schema?: LabelSchema;
}

interface MetricImpl {
  /** Whether a larger value is better (scores) or worse (losses). */
  better: 'higher' | 'lower';
  compute(predictions: ScoreMatrix, targets: LabelMatrix, warn: Warn, rowNames?: readonly string[]): MetricValue;
}

export interface Metric {
  name: string;
  better: MetricImpl['better'];
  /** The name plus the options given, e.g. `f2(average=macro)`: a stable key for results. */
  label: string;
  options: Record<string, unknown>;
  /** Policy notes go to `warn` (the log's warning level by default); `rowNames` (e.g. ids) name rows in them. */
  compute(predictions: ScoreMatrix, targets: LabelMatrix, warn?: Warn, rowNames?: readonly string[]): MetricValue;
}

export const metrics = new Registry<MetricContext, MetricImpl>('metric');

export function metricContext(schema: LabelSchema): MetricContext {
  return { columns: targetColumns(schema), schema };
}

/** Columns a binary metric scores: the named groups' (binary or categorical), or every binary group's. */
function binaryColumns(context: MetricContext, groups: readonly string[] | undefined, where: string): { indices: number[]; names: string[] } {
  if (!context.schema) {
    if (groups) throw new Error(`${where}: 'groups' needs a label schema`);
    return { indices: context.columns.map((_, j) => j), names: [...context.columns] };
  }
  const spans = groupSpans(context.schema);
  for (const name of groups ?? []) {
    const span = spans.find((s) => s.group.name === name);
    if (!span) throw new Error(`${where}: unknown group '${name}'; groups: ${spans.map((s) => s.group.name).join(', ')}`);
    if (span.group.kind === 'ordinal') throw new Error(`${where}: group '${name}' is ordinal; use ordinal_accuracy, ordinal_mae or qwk`);
  }
  const chosen = spans.filter((s) => (groups ? groups.includes(s.group.name) : s.group.kind === 'binary'));
  if (chosen.length === 0) throw new Error(`${where}: the label schema has no binary group; name categorical groups in 'groups'`);
  const indices = chosen.flatMap((s) => s.group.classes.map((_, j) => s.targetOffset + j));
  return { indices, names: indices.map((j) => context.columns[j]) };
}

function groupNamed(context: MetricContext, name: string, where: string): { group: LabelGroup; offset: number } {
  if (!context.schema) throw new Error(`${where}: needs a label schema`);
  const span = groupSpans(context.schema).find((s) => s.group.name === name);
  if (!span) throw new Error(`${where}: unknown group '${name}'`);
  return { group: span.group, offset: span.targetOffset };
}

/** Per-class values as a record keyed by class name. */
function byName<T>(names: readonly string[], values: readonly T[]): Record<string, T> {
  return Object.fromEntries(names.map((name, j) => [name, values[j]]));
}

/** Runs `compute` on the metric's columns, with class names for messages. */
function onColumns(
  context: MetricContext,
  groups: readonly string[] | undefined,
  where: string,
  compute: (p: ScoreMatrix, t: LabelMatrix, reporting: ReportingOptions & { warn: Warn }, names: string[]) => MetricValue,
): MetricImpl['compute'] {
  const { indices, names } = binaryColumns(context, groups, where);
  const all = indices.length === context.columns.length && indices.every((j, k) => j === k);
  return (predictions, targets, warn, rowNames) => {
    checkSameShape(predictions, targets, where);
    if (predictions.cols !== context.columns.length) {
      throw new Error(`${where}: predictions have ${predictions.cols} columns, the context names ${context.columns.length}`);
    }
    const p = all ? predictions : selectColumns(predictions, indices);
    const t = all ? targets : selectColumns(targets, indices);
    return compute(p, t, { warn, classNames: names, rowNames }, names);
  };
}

const groupsOption = z.array(z.string()).min(1).optional();
const thresholdOption = z.union([z.number(), z.array(z.number())]).default(0.5);
const prfAverage = z.enum(['samples', 'micro', 'macro', 'weighted', 'none']);

const averagedQuantity = { fbeta: fbetaScore, precision: precisionScore, recall: recallScore } satisfies Record<PrfQuantity, unknown>;

function registerPrf(name: string, description: string, quantity: PrfQuantity, fixedBeta?: number): void {
  metrics.register({
    name,
    description,
    schema: z.object({
      ...(fixedBeta === undefined ? { beta: z.number().min(0).default(2) } : {}),
      average: prfAverage.default('samples'),
      threshold: thresholdOption,
      zeroDivision: zeroDivisionSchema.default('warn'),
      absentClasses: absentClassSchema.default('include'),
      groups: groupsOption,
    }),
    create: (config, context) => {
      const beta = fixedBeta ?? (config as { beta?: number }).beta ?? 2;
      return {
        better: 'higher',
        compute: onColumns(context, config.groups, `metric '${name}'`, (p, t, reporting, names) => {
          const options = { ...reporting, beta, threshold: config.threshold, zeroDivision: config.zeroDivision, absentClasses: config.absentClasses };
          if (config.average === 'none') return byName(names, precisionRecallFbetaPerClass(p, t, options, [quantity])[quantity]);
          return averagedQuantity[quantity](p, t, config.average, options);
        }),
      };
    },
  });
}

registerPrf('fbeta', 'F-beta (beta option, 2 by default); average samples = the Kaggle mean F-beta', 'fbeta');
registerPrf('f2', 'F2; average samples (default) = the Kaggle mean F2', 'fbeta', 2);
registerPrf('f1', 'F1', 'fbeta', 1);
registerPrf('precision', 'precision at the threshold', 'precision');
registerPrf('recall', 'recall at the threshold', 'recall');

function registerRanking(
  name: string,
  description: string,
  perClass: typeof rocAucPerClass,
  averaged: typeof rocAucScore,
): void {
  metrics.register({
    name,
    description,
    schema: z.object({ average: z.enum(['macro', 'micro', 'weighted', 'none']).default('macro'), groups: groupsOption }),
    create: (config, context) => ({
      better: 'higher',
      compute: onColumns(context, config.groups, `metric '${name}'`, (p, t, reporting, names) =>
        config.average === 'none' ? byName(names, perClass(p, t, reporting)) : averaged(p, t, config.average, reporting),
      ),
    }),
  });
}

registerRanking('auc', 'ROC-AUC; undefined classes (one label value) are null and left out of macro', rocAucPerClass, rocAucScore);
registerRanking('average_precision', 'average precision; classes with no positive are null and left out', averagePrecisionPerClass, averagePrecisionScore);

function registerLogLoss(name: string, description: string, defaultWeights: Record<string, number>): void {
  metrics.register({
    name,
    description,
    schema: z.object({
      eps: z.number().positive().max(0.1).default(1e-15),
      weights: z.record(z.string(), z.number().min(0)).default(defaultWeights),
      groups: groupsOption,
    }),
    create: (config, context) => ({
      better: 'lower',
      compute: onColumns(context, config.groups, `metric '${name}'`, (p, t, reporting, names) =>
        logLoss(p, t, { ...reporting, eps: config.eps, classWeights: classWeightsByName(names, config.weights) }),
      ),
    }),
  });
}

registerLogLoss('logloss', 'multi-label log loss (mean binary cross-entropy; optional class weights)', {});
registerLogLoss('wlogloss', 'RSNA weighted multi-label log loss: any weighs 2, the others 1', { any: 2 });

const calibrationAverage = z.enum(['macro', 'micro', 'none']).default('macro');

metrics.register({
  name: 'brier',
  description: "Brier score (scikit-learn's brier_score_loss) per class; macro averages the classes, micro pools every cell",
  schema: z.object({ average: calibrationAverage, groups: groupsOption }),
  create: (config, context) => ({
    better: 'lower',
    compute: onColumns(context, config.groups, "metric 'brier'", (p, t, _reporting, names) =>
      config.average === 'none' ? byName(names, brierScorePerClass(p, t)) : brierScore(p, t, config.average),
    ),
  }),
});

metrics.register({
  name: 'ece',
  description: 'expected calibration error over equal-width probability bins (sklearn calibration_curve bins); macro over classes, micro pooled',
  schema: z.object({ average: calibrationAverage, bins: z.number().int().min(2).max(100).default(10), groups: groupsOption }),
  create: (config, context) => ({
    better: 'lower',
    compute: onColumns(context, config.groups, "metric 'ece'", (p, t, _reporting, names) =>
      config.average === 'none' ? byName(names, expectedCalibrationErrorPerClass(p, t, config.bins)) : expectedCalibrationError(p, t, config.average, config.bins),
    ),
  }),
});

type GradeMetric = (trueGrades: Float64Array, predictedGrades: Int32Array, levels: number, warn: Warn) => number | null | number[][];

/** An ordinal metric per class of the group (predicted grades from the group's thresholds); numbers also get their mean. */
function registerOrdinal(name: string, description: string, better: 'higher' | 'lower', metric: GradeMetric): void {
  metrics.register({
    name,
    description,
    schema: z.object({ group: z.string() }),
    create: (config, context) => {
      const where = `metric '${name}'`;
      const { group, offset } = groupNamed(context, config.group, where);
      if (group.kind !== 'ordinal') throw new Error(`${where}: group '${config.group}' is ${group.kind}, not ordinal`);
      const thresholds = ordinalThresholds(group);
      return {
        better,
        compute: (predictions, targets, warn): MetricValue => {
          checkSameShape(predictions, targets, where);
          const perClass = group.classes.map((_, j) => {
            const trueGrades = column(targets, offset + j);
            checkGrades(trueGrades, group.levels, `${where}: targets of '${group.classes[j]}'`);
            return metric(trueGrades, gradesFromValues(column(predictions, offset + j), thresholds), group.levels, warn);
          });
          const byClass: MetricValue = byName(group.classes, perClass);
          if (perClass.some((v) => Array.isArray(v))) return { perClass: byClass };
          const defined = perClass.filter((v): v is number => typeof v === 'number');
          const mean = defined.length > 0 ? defined.reduce((s, v) => s + v, 0) / defined.length : null;
          return { mean, perClass: byClass };
        },
      };
    },
  });
}

registerOrdinal('ordinal_accuracy', 'exact grade accuracy per ordinal class and its mean', 'higher', (y, p) => ordinalAccuracy(y, p));
registerOrdinal('ordinal_mae', 'mean absolute grade error per ordinal class and its mean', 'lower', (y, p) => ordinalMae(y, p));
registerOrdinal('qwk', 'quadratic weighted kappa per ordinal class and its mean', 'higher', (y, p, levels, warn) =>
  quadraticWeightedKappa(y, p, levels, { warn }),
);
registerOrdinal('ordinal_confusion', 'grade confusion matrix per ordinal class (rows true grade, columns predicted)', 'higher', (y, p, levels) =>
  confusionMatrix(y, p, levels, "metric 'ordinal_confusion'"),
);

metrics.register({
  name: 'confusion',
  description: 'confusion matrices: 2×2 per binary label ([[tn, fp], [fn, tp]]), or K×K for a categorical group',
  schema: z.object({ group: z.string().optional(), threshold: thresholdOption }),
  create: (config, context) => {
    const where = "metric 'confusion'";
    if (config.group !== undefined) {
      const { group, offset } = groupNamed(context, config.group, where);
      if (group.kind !== 'categorical') throw new Error(`${where}: group '${config.group}' is ${group.kind}; only categorical groups have a K×K matrix`);
      const indices = group.classes.map((_, j) => offset + j);
      return {
        better: 'higher',
        compute: (predictions, targets) => categoricalConfusion(selectColumns(predictions, indices), selectColumns(targets, indices), `${where} '${group.name}'`),
      };
    }
    return {
      better: 'higher',
      compute: onColumns(context, undefined, where, (p, t, _reporting, names) =>
        Object.fromEntries(multilabelConfusion(p, t, config.threshold).map((m, j) => [names[j], m])),
      ),
    };
  },
});

/** Builds a metric from `{ name, ...options }`; unknown names and options are errors. */
export function createMetric(config: { name: string } & Record<string, unknown>, context: MetricContext): Metric {
  const { name, ...options } = config;
  const impl = metrics.create(config, context);
  const given = Object.keys(options)
    .sort()
    .map((key) => `${key}=${Array.isArray(options[key]) ? (options[key] as unknown[]).join('/') : JSON.stringify(options[key]).replace(/"/g, '')}`);
  return {
    ...impl,
    name,
    label: given.length > 0 ? `${name}(${given.join(',')})` : name,
    options: metrics.resolve(name, options),
    compute: (predictions, targets, warn = warnToLog, rowNames) => impl.compute(predictions, targets, warn, rowNames),
  };
}

/** A metric as a scalar score function (for bootstrap); fails for metrics whose value is not one number. */
export function scoreFunction(metric: Metric): ScoreFunction {
  return (predictions, targets, warn) => {
    const value = metric.compute(predictions, targets, warn);
    if (value !== null && typeof value !== 'number') {
      throw new Error(`metric '${metric.label}' is not a single number (per-class or matrix value); pick an average`);
    }
    return value;
  };
}
