import { basename } from 'node:path';
import { std } from 'mathjs';
import { flattenJson } from '../core/json.ts';
import { RUN_FILES, runPath } from '../runs/layout.ts';
import { checkMetricPath, metricValue } from '../runs/metrics-file.ts';
import type { FinishedRun } from '../runs/run-dir.ts';
import { DEFAULT_LEADERBOARD_METRIC, metricKey } from '../metrics/scores.ts';

/**
 * Ranks experiment runs: every directory below the runs folder holding both `config.json` (the resolved config,
 * with `seed` and `name`) and `metrics.json` (`{ val: {…}, test: {…} }`) is a run; runs whose configs are equal
 * apart from the seed are one entry, scored by the mean ± standard deviation over its seeds. The table shows
 * the config fields in which the entries differ, so an ablation reads as what changed and what it gave.
 */
export type Run = FinishedRun;

export interface LeaderboardEntry {
  rank: number;
  name: string;
  mean: number | null;
  /** Sample standard deviation over seeds; null with fewer than two. */
  std: number | null;
  values: number[];
  seeds: unknown[];
  runs: string[];
  /** Runs of this entry whose metrics.json lacks the metric. */
  missing: string[];
  /** This entry's values of the fields that differ between entries. */
  differing: Record<string, unknown>;
}

export interface Leaderboard {
  metric: string;
  order: 'higher' | 'lower';
  differingFields: string[];
  entries: LeaderboardEntry[];
}

export interface LeaderboardOptions {
  /** Dot path into metrics.json: a split (`val`, `test`, `baseline`) and a score's path; `DEFAULT_LEADERBOARD_METRIC` by default. */
  metric?: string;
  /** Whether higher values rank first; by default the metric table's direction, else lower for losses and errors (`loss`, `mae` in the path). */
  order?: 'higher' | 'lower';
  /** More config fields (dot paths) to ignore when grouping, besides `seed`. */
  ignore?: readonly string[];
}

/** Leaf values by dot path; arrays are leaves (compared whole). */
export const flattenConfig = flattenJson;

const stable = (value: unknown) => JSON.stringify(value) ?? 'undefined';

/** What the leaderboard ranks by unless told: test F2 samples. */
export { DEFAULT_LEADERBOARD_METRIC };

/** Which values rank first for a metrics.json path: the metric table's direction, else lower for losses and errors. */
export function defaultOrder(metric: string): 'higher' | 'lower' {
  const key = metricKey(metric.slice(metric.indexOf('.') + 1));
  if (key) return key.higherIsBetter ? 'higher' : 'lower';
  return /loss|mae/i.test(metric) ? 'lower' : 'higher';
}

export function buildLeaderboard(runs: readonly Run[], options: LeaderboardOptions = {}): Leaderboard {
  const metric = options.metric ?? DEFAULT_LEADERBOARD_METRIC;
  if (runs.length > 0) checkMetricPath(runs.map((run) => run.metrics), metric);
  const order = options.order ?? defaultOrder(metric);
  const ignored = new Set(['seed', ...(options.ignore ?? [])]);
  const groups = new Map<string, { fields: Record<string, unknown>; runs: Run[] }>();
  for (const run of runs) {
    const fields = Object.fromEntries(Object.entries(flattenConfig(run.config)).filter(([path]) => !ignored.has(path)));
    const key = stable(Object.entries(fields).sort(([a], [b]) => a.localeCompare(b)));
    const group = groups.get(key) ?? { fields, runs: [] };
    group.runs.push(run);
    groups.set(key, group);
  }
  const all = [...groups.values()];
  const paths = [...new Set(all.flatMap((g) => Object.keys(g.fields)))].sort();
  const differingFields = paths.filter((path) => new Set(all.map((g) => stable(g.fields[path]))).size > 1);
  const entries = all.map((group): LeaderboardEntry => {
    const scored = group.runs.map((run) => ({ run, value: metricValue(run.metrics, metric, runPath(run.dir, 'metrics')) ?? undefined }));
    const values = scored.flatMap((s) => (s.value === undefined ? [] : [s.value]));
    return {
      rank: 0,
      name: String(group.fields.name ?? basename(group.runs[0].dir)),
      mean: values.length > 0 ? values.reduce((s, v) => s + v, 0) / values.length : null,
      std: values.length > 1 ? (std(values) as unknown as number) : null,
      values,
      seeds: scored.filter((s) => s.value !== undefined).map((s) => s.run.config.seed),
      runs: group.runs.map((run) => run.dir),
      missing: scored.filter((s) => s.value === undefined).map((s) => s.run.dir),
      differing: Object.fromEntries(differingFields.map((path) => [path, group.fields[path]])),
    };
  });
  const sign = order === 'higher' ? -1 : 1;
  entries.sort((a, b) => {
    if (a.mean === null || b.mean === null) return a.mean === null ? (b.mean === null ? a.name.localeCompare(b.name) : 1) : -1;
    return sign * (a.mean - b.mean) || a.name.localeCompare(b.name);
  });
  entries.forEach((entry, i) => (entry.rank = i + 1));
  return { metric, order, differingFields, entries };
}

const show = (value: unknown) => (value === undefined ? '—' : typeof value === 'string' ? value : JSON.stringify(value));

/** A fixed-width table: rank, name, mean ± std, seeds, then the differing config fields. */
export function formatLeaderboard(board: Leaderboard, digits = 4): string {
  const titles = ['rank', 'name', `${board.metric} (${board.order} is better)`, 'n', 'seeds', ...board.differingFields.filter((f) => f !== 'name')];
  const rows = board.entries.map((entry) => [
    String(entry.rank),
    entry.name,
    entry.mean === null ? '—' : `${entry.mean.toFixed(digits)} ± ${entry.std === null ? '—' : entry.std.toFixed(digits)}`,
    String(entry.values.length),
    entry.seeds.map(show).join(','),
    ...board.differingFields.filter((f) => f !== 'name').map((field) => show(entry.differing[field])),
  ]);
  const widths = titles.map((title, c) => Math.max(title.length, ...rows.map((row) => row[c].length)));
  const line = (row: string[]) => row.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd();
  const notes = board.entries.flatMap((entry) => entry.missing.map((dir) => `note: ${dir} has no ${board.metric} in ${RUN_FILES.metrics}`));
  return [line(titles), ...rows.map(line), ...(notes.length > 0 ? ['', ...notes] : [])].join('\n');
}
