import type { TopLevelSpec } from 'vega-lite';
import { chartBase, unitScale } from './common.ts';

/** One class's curve: its legend label (e.g. `subdural (AUC 0.91)`) and its points in drawing order. */
export interface CurveSeries {
  label: string;
  points: ReadonlyArray<{ x: number; y: number }>;
}

interface CurveChartOptions {
  title: string;
  description: string;
  xTitle: string;
  yTitle: string;
  interpolate: 'linear' | 'step-after';
  /** The chance line of a ROC plot. */
  diagonal: boolean;
}

/** A plot 280 px wide shows no more than this many points per curve; a test set of 100k slices has far more. */
const MAX_POINTS = 600;

/** At most `most` points, evenly picked, the first and last always kept. */
export function thinPoints<T>(points: readonly T[], most = MAX_POINTS): T[] {
  if (points.length <= most) return [...points];
  return Array.from({ length: most }, (_, k) => points[Math.round((k * (points.length - 1)) / (most - 1))]);
}

function curveChart(series: readonly CurveSeries[], options: CurveChartOptions): TopLevelSpec {
  const values = series.flatMap((s) => thinPoints(s.points).map((p, order) => ({ series: s.label, x: p.x, y: p.y, order })));
  const curves = {
    data: { values },
    mark: { type: 'line' as const, interpolate: options.interpolate, strokeWidth: 1.5, clip: true },
    encoding: {
      x: { field: 'x', type: 'quantitative' as const, title: options.xTitle, scale: unitScale() },
      y: { field: 'y', type: 'quantitative' as const, title: options.yTitle, scale: unitScale() },
      color: { field: 'series', type: 'nominal' as const, title: null, sort: series.map((s) => s.label) },
      order: { field: 'order', type: 'quantitative' as const },
    },
  };
  const chance = {
    data: { values: [{}] },
    mark: { type: 'rule' as const, strokeDash: [4, 4], color: '#999' },
    encoding: { x: { datum: 0, type: 'quantitative' as const }, y: { datum: 0, type: 'quantitative' as const }, x2: { datum: 1 }, y2: { datum: 1 } },
  };
  return {
    ...chartBase(options.title, options.description),
    width: 280,
    height: 280,
    layer: options.diagonal ? [chance, curves] : [curves],
  } satisfies TopLevelSpec;
}

/** ROC curves, one line per class, with the chance diagonal. */
export function rocCurvesSpec(series: readonly CurveSeries[], title: string): TopLevelSpec {
  return curveChart(series, {
    title,
    description: `${title}: true positive rate against false positive rate per class`,
    xTitle: 'false positive rate',
    yTitle: 'true positive rate',
    interpolate: 'linear',
    diagonal: true,
  });
}

/** Precision-recall curves, one step line per class (the steps average precision sums). */
export function precisionRecallCurvesSpec(series: readonly CurveSeries[], title: string): TopLevelSpec {
  return curveChart(series, {
    title,
    description: `${title}: precision against recall per class`,
    xTitle: 'recall',
    yTitle: 'precision',
    interpolate: 'step-after',
    diagonal: false,
  });
}
