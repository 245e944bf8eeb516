import type { TopLevelSpec } from 'vega-lite';
import { chartBase } from './common.ts';

/** One value of one run's series, at an epoch or an optimizer step (`x`). */
export interface RunPoint {
  run: string;
  x: number;
  value: number;
  /** A second distinction within a run: `train` / `validation`, or a metric's name for faceted charts. */
  series: string;
}

const runColor = (runs: readonly string[]) => ({ field: 'run', type: 'nominal' as const, title: 'run', sort: [...runs], legend: { orient: 'bottom' as const, columns: 1 } });

/** Overlaid curves of many runs: colour per run, dash per series (train solid, validation dashed). */
export function runCurvesSpec(points: readonly RunPoint[], runs: readonly string[], options: { title: string; xTitle: string; yTitle: string; marks?: boolean }): TopLevelSpec {
  return {
    ...chartBase(options.title, `${options.title}: ${options.yTitle} per ${options.xTitle}, one colour per run`),
    width: 420,
    height: 240,
    data: { values: points.map((p) => ({ ...p })) },
    mark: { type: 'line', point: options.marks ?? false, strokeWidth: 1.5 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: options.xTitle, axis: { tickMinStep: 1, format: 'd' } },
      y: { field: 'value', type: 'quantitative', title: options.yTitle, scale: { zero: false } },
      color: runColor(runs),
      strokeDash: { field: 'series', type: 'nominal', title: null, sort: ['train', 'validation'], ...(new Set(points.map((p) => p.series)).size < 2 ? { legend: null } : {}) },
      detail: { field: 'series' },
      tooltip: [{ field: 'run' }, { field: 'series' }, { field: 'x', title: options.xTitle }, { field: 'value', format: '.4f' }],
    },
  } satisfies TopLevelSpec;
}

/** One panel per metric (the `series`), the runs' curves overlaid in each. */
export function runMetricPanelsSpec(points: readonly RunPoint[], runs: readonly string[], metrics: readonly string[], title: string): TopLevelSpec {
  return {
    ...chartBase(title, `${title}: one panel per metric, one colour per run`),
    data: { values: points.map((p) => ({ ...p })) },
    facet: { field: 'series', type: 'nominal', title: null, sort: [...metrics] },
    columns: 3,
    spec: {
      width: 220,
      height: 150,
      mark: { type: 'line', point: true, strokeWidth: 1.5 },
      encoding: {
        x: { field: 'x', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1, format: 'd' } },
        y: { field: 'value', type: 'quantitative', title: 'validation', scale: { zero: false } },
        color: runColor(runs),
        tooltip: [{ field: 'run' }, { field: 'series' }, { field: 'x', title: 'epoch' }, { field: 'value', format: '.4f' }],
      },
    },
    resolve: { scale: { y: 'independent' } },
  } satisfies TopLevelSpec;
}
