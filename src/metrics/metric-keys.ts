import type { LabelGroup } from '../labels/schema.ts';

/**
 * The names of a split's scores, in one place. `scoreSplit` (summary.ts) writes a split's scores as one nested
 * block (`{ f2: { samples, … }, f2_tuned: …, auc: { macro, … }, logloss, categorical_auc, qwk, groups, … }`),
 * metrics.json holds such blocks under `val`, `test` and `baseline`, and everything that shows or ranks a score
 * (reports, ablation and cross-validation summaries, leaderboards, the CLI, `train.monitor`) names it through
 * the table below: its dot path in the block, its title, the monitor name that picks the best epoch by it, and
 * whether higher is better. This module loads nothing, so the CLI's `--help` can name scores without zod.
 */
export interface MetricKey {
  /** Dot path in a split's score block, e.g. `f2.samples`. */
  readonly path: string;
  readonly title: string;
  /** The `train.monitor` choice that selects the best epoch by this value. */
  readonly monitor?: string;
  readonly higherIsBetter: boolean;
  /** The label groups the value needs (none: any schema). */
  readonly labels?: LabelGroup['kind'];
}

export const metricKeys = {
  f2Samples: { path: 'f2.samples', title: 'F2 samples', monitor: 'f2_samples', higherIsBetter: true, labels: 'binary' },
  f2Micro: { path: 'f2.micro', title: 'F2 micro', monitor: 'f2_micro', higherIsBetter: true, labels: 'binary' },
  f2Macro: { path: 'f2.macro', title: 'F2 macro', monitor: 'f2_macro', higherIsBetter: true, labels: 'binary' },
  f2Weighted: { path: 'f2.weighted', title: 'F2 weighted', higherIsBetter: true, labels: 'binary' },
  f2TunedSamples: { path: 'f2_tuned.samples', title: 'F2 samples (tuned)', higherIsBetter: true, labels: 'binary' },
  f2TunedMicro: { path: 'f2_tuned.micro', title: 'F2 micro (tuned)', higherIsBetter: true, labels: 'binary' },
  f2TunedMacro: { path: 'f2_tuned.macro', title: 'F2 macro (tuned)', higherIsBetter: true, labels: 'binary' },
  f2TunedWeighted: { path: 'f2_tuned.weighted', title: 'F2 weighted (tuned)', higherIsBetter: true, labels: 'binary' },
  aucMacro: { path: 'auc.macro', title: 'AUC macro', monitor: 'auc_macro', higherIsBetter: true, labels: 'binary' },
  aucMicro: { path: 'auc.micro', title: 'AUC micro', higherIsBetter: true, labels: 'binary' },
  aucWeighted: { path: 'auc.weighted', title: 'AUC weighted', higherIsBetter: true, labels: 'binary' },
  aucPerClass: { path: 'auc.perClass', title: 'AUC per class', higherIsBetter: true, labels: 'binary' },
  apMacro: { path: 'average_precision.macro', title: 'AP macro', higherIsBetter: true, labels: 'binary' },
  apMicro: { path: 'average_precision.micro', title: 'AP micro', higherIsBetter: true, labels: 'binary' },
  logloss: { path: 'logloss', title: 'log loss', higherIsBetter: false, labels: 'binary' },
  brier: { path: 'brier', title: 'Brier', higherIsBetter: false, labels: 'binary' },
  ece: { path: 'ece', title: 'ECE', higherIsBetter: false, labels: 'binary' },
  categoricalAuc: { path: 'categorical_auc', title: 'categorical AUC', monitor: 'categorical_auc', higherIsBetter: true, labels: 'categorical' },
  ordinalAccuracy: { path: 'ordinal_accuracy', title: 'ordinal accuracy', higherIsBetter: true, labels: 'ordinal' },
  qwk: { path: 'qwk', title: 'QWK', monitor: 'qwk', higherIsBetter: true, labels: 'ordinal' },
  allPositiveF2Samples: { path: 'baselines.all_positive.samples', title: 'all-positive F2 samples', higherIsBetter: true, labels: 'binary' },
  allNegativeF2Samples: { path: 'baselines.all_negative.samples', title: 'all-negative F2 samples', higherIsBetter: true, labels: 'binary' },
  f2TunedPositives: { path: 'f2_tuned_positives', title: 'labels the tuned thresholds predict positive', higherIsBetter: true, labels: 'binary' },
  loss: { path: 'loss', title: 'loss', monitor: 'loss', higherIsBetter: false },
  rows: { path: 'rows', title: 'rows', higherIsBetter: true },
} as const satisfies Record<string, MetricKey>;

type Keys = (typeof metricKeys)[keyof typeof metricKeys];

/** `train.monitor`: the values a run can select its best epoch by, or `last` (no selection: the last epoch's model). */
export type Monitor = Extract<Keys, { monitor: string }>['monitor'] | 'last';
export const monitorChoices = [
  ...Object.values(metricKeys as Record<string, MetricKey>).flatMap((key) => (key.monitor ? [key.monitor] : [])),
  'last',
] as unknown as readonly [Monitor, ...Monitor[]];

const byPath = new Map(Object.values(metricKeys as Record<string, MetricKey>).map((key) => [key.path, key]));

/** The table's entry for a dot path, if it has one (group metrics such as `groups.<name>.qwk` have none). */
export function metricKey(path: string): MetricKey | undefined {
  return byPath.get(path);
}

/** How a score is titled in reports and tables: the table's title, else the path as it is. */
export function metricTitle(path: string): string {
  return byPath.get(path)?.title ?? path;
}

/** Whether a larger value of `path` is better (the table's, else true). */
export function higherIsBetter(path: string): boolean {
  return byPath.get(path)?.higherIsBetter ?? true;
}

/** The key a monitor reads. */
export function monitorKey(monitor: Exclude<Monitor, 'last'>): MetricKey {
  const key = Object.values(metricKeys as Record<string, MetricKey>).find((candidate) => candidate.monitor === monitor);
  if (!key) throw new Error(`unknown monitor '${monitor}'; choices: ${monitorChoices.join(', ')}`);
  return key;
}

/** The F2 averages a run reports, at 0.5 (`f2`) or at the tuned thresholds (`f2_tuned`): the table's keys. */
export function f2Key(average: 'samples' | 'micro' | 'macro' | 'weighted', tuned = false): MetricKey {
  const name = `f2${tuned ? 'Tuned' : ''}${average[0].toUpperCase()}${average.slice(1)}` as keyof typeof metricKeys;
  return metricKeys[name];
}

/** What `sliceseq leaderboard` ranks by when no `--metric` is given. */
export const DEFAULT_LEADERBOARD_METRIC = `test.${metricKeys.f2Samples.path}`;
