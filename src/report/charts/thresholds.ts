import type { TopLevelSpec } from 'vega-lite';
import { chartBase, unitScale } from './common.ts';

/** One class's F-beta curves over thresholds and the thresholds to mark on them. */
export interface ThresholdPanel {
  className: string;
  /** Named curves over the same grid, e.g. `F2 of this class` and `mean F2 (samples)`. */
  curves: ReadonlyArray<{ series: string; thresholds: ArrayLike<number>; values: ArrayLike<number> }>;
  /** Vertical rules, e.g. `tuned threshold` at 0.31 and `0.5`. */
  markers: ReadonlyArray<{ series: string; threshold: number }>;
}

/** F-beta against the decision threshold, one panel per class, the chosen thresholds marked. */
export function thresholdCurvesSpec(panels: readonly ThresholdPanel[], title: string, yTitle: string): TopLevelSpec {
  const values = panels.flatMap((panel) => [
    ...panel.curves.flatMap((curve) =>
      Array.from(curve.thresholds, (threshold, i) => ({ className: panel.className, kind: 'curve', series: curve.series, threshold, value: curve.values[i] })),
    ),
    ...panel.markers.map((marker) => ({ className: panel.className, kind: 'marker', series: marker.series, threshold: marker.threshold, value: null })),
  ]);
  const x = { field: 'threshold', type: 'quantitative' as const, title: 'threshold', scale: unitScale() };
  const color = { field: 'series', type: 'nominal' as const, title: null };
  return {
    ...chartBase(title, `${title}: ${yTitle} against the decision threshold, one panel per class, chosen thresholds as vertical rules`),
    data: { values },
    facet: { field: 'className', type: 'nominal', title: null, sort: panels.map((p) => p.className) },
    columns: 3,
    spec: {
      width: 200,
      height: 140,
      layer: [
        {
          transform: [{ filter: "datum.kind === 'curve'" }],
          mark: { type: 'line', strokeWidth: 1.5 },
          encoding: { x, y: { field: 'value', type: 'quantitative', title: yTitle, scale: unitScale() }, color },
        },
        {
          transform: [{ filter: "datum.kind === 'marker'" }],
          mark: { type: 'rule', strokeDash: [4, 3], strokeWidth: 1.5 },
          encoding: { x, color },
        },
      ],
    },
  } satisfies TopLevelSpec;
}
