import { z } from 'zod';
import { writeJsonAtomic } from '../core/atomic.ts';
import { fieldAt, isJsonObject, readJsonFile } from '../core/json.ts';
import { baselineScoresSchema, splitScoresSchema } from '../metrics/scores.ts';
import { runPath } from './layout.ts';

/**
 * `metrics.json`: the scores of a finished run's best epoch: `val` and (with a test split) `test` blocks as
 * `scoreSplit` scores them and the all-positive predictor's `baseline` block on the test split, each a split's
 * scores (metrics/scores.ts: their schema and the table of their names), which epoch was best and why training
 * stopped. Its presence marks a run as finished.
 */
export const runMetricsSchema = z.looseObject({
  best_epoch: z.number().int().nullable().optional(),
  stopped: z.string().nullable().optional(),
  val: splitScoresSchema.optional(),
  test: splitScoresSchema.optional(),
  baseline: baselineScoresSchema.optional(),
});
export type RunMetrics = z.output<typeof runMetricsSchema>;

export function writeRunMetrics(runDir: string, metrics: RunMetrics): void {
  writeJsonAtomic(runPath(runDir, 'metrics'), metrics);
}

export function readRunMetrics(runDir: string): RunMetrics {
  return readJsonFile(runMetricsSchema, runPath(runDir, 'metrics'));
}

/** Every dot path to a number in a metrics object (`test.` + a score's path, …), sorted. */
export function metricPaths(metrics: unknown, prefix = ''): string[] {
  if (!isJsonObject(metrics)) return typeof metrics === 'number' && prefix ? [prefix] : [];
  return Object.entries(metrics)
    .flatMap(([key, value]) => metricPaths(value, prefix ? `${prefix}.${key}` : key))
    .sort();
}

/**
 * The value of `path` in `metrics`: a number, null where the metric was undefined (e.g. AUC of a class with no
 * positives), undefined where the run has no such block (e.g. no test split). A path that names something
 * other than a metric is an error listing the metrics there are.
 */
export function metricValue(metrics: unknown, path: string, where: string): number | null | undefined {
  const value = fieldAt(metrics, path);
  if (typeof value === 'number' || value === null) return value;
  if (value === undefined) return undefined;
  const known = metricPaths(metrics);
  throw new Error(`${where}: '${path}' is not a metric (it holds ${JSON.stringify(value).slice(0, 60)}); metrics: ${known.join(', ')}`);
}

/** Fails unless `path` names a metric of at least one of `metricsList`, listing the metric paths there are. */
export function checkMetricPath(metricsList: readonly unknown[], path: string): void {
  if (metricsList.some((metrics) => { const value = fieldAt(metrics, path); return typeof value === 'number' || value === null; })) return;
  const known = [...new Set(metricsList.flatMap((metrics) => metricPaths(metrics)))].sort();
  throw new Error(`unknown metric '${path}': no run has it in ${runPath('', 'metrics')}; metrics there: ${known.join(', ') || '(none)'}`);
}
