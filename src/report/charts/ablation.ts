import type { TopLevelSpec } from 'vega-lite';
import { chartBase } from './common.ts';

/** One variant's values of one metric: each trial (seed/fold) and the mean with its interval. */
export interface VariantValues {
  metric: string;
  variant: string;
  trials: ReadonlyArray<{ label: string; value: number }>;
  mean: number | null;
  lower: number | null;
  upper: number | null;
}

/** One variant's difference from the reference in one metric, with its paired-bootstrap interval. */
export interface VariantDifference {
  metric: string;
  variant: string;
  difference: number;
  lower: number | null;
  upper: number | null;
  significant: boolean;
}

const panelWidth = 260;
const bandStep = 30;

type PanelLayers = Extract<Extract<TopLevelSpec, { facet: unknown }>['spec'], { layer: unknown }>['layer'];

/** One panel per metric (two columns, each with its own x scale), variants down the y axis. */
function metricPanels(title: string, description: string, rows: object[], order: { metrics: readonly string[] }, layer: PanelLayers, height: number | { step: number }): TopLevelSpec {
  return {
    ...chartBase(title, description),
    data: { values: rows },
    facet: { field: 'metric', type: 'nominal', title: null, sort: [...order.metrics] },
    columns: 2,
    resolve: { scale: { x: 'independent' } },
    spec: { width: panelWidth, height, layer },
  };
}

/** Per variant and metric: the mean (diamond) with its interval (bar) and every trial as a dot. */
export function ablationValuesSpec(values: readonly VariantValues[], order: { metrics: readonly string[]; variants: readonly string[] }, title: string): TopLevelSpec {
  const rows = values.flatMap((v) => [
    { kind: 'mean', metric: v.metric, variant: v.variant, value: v.mean, lower: v.lower, upper: v.upper, trial: null },
    ...v.trials.map((t) => ({ kind: 'trial', metric: v.metric, variant: v.variant, value: t.value, lower: null, upper: null, trial: t.label })),
  ]);
  const y = { field: 'variant', type: 'nominal' as const, title: null, sort: [...order.variants] };
  const x = { field: 'value', type: 'quantitative' as const, title: null, scale: { zero: false } };
  return metricPanels(
    title,
    `${title}: per variant, the mean with its interval and each trial as a dot, one panel per metric`,
    rows,
    order,
    [
      // With one trial per variant there is no interval: leave the layer out rather than give vega an empty extent.
      ...(values.some((v) => v.lower !== null && v.upper !== null)
        ? [
            {
              transform: [{ filter: "datum.kind === 'mean' && datum.lower !== null && datum.upper !== null" }],
              mark: { type: 'rule' as const, strokeWidth: 2, color: '#4c78a8' },
              encoding: { y, x: { field: 'lower', type: 'quantitative' as const, title: null }, x2: { field: 'upper' } },
            },
          ]
        : []),
      {
        transform: [{ filter: "datum.kind === 'trial'" }],
        mark: { type: 'point', filled: false, size: 30, color: '#777', opacity: 0.8 },
        encoding: { y, x, yOffset: { field: 'trial', type: 'nominal' }, tooltip: [{ field: 'variant' }, { field: 'trial' }, { field: 'value', format: '.4f' }] },
      },
      {
        transform: [{ filter: "datum.kind === 'mean' && datum.value !== null" }],
        mark: { type: 'point', shape: 'diamond', filled: true, size: 90, color: '#e45756' },
        encoding: { y, x, tooltip: [{ field: 'variant' }, { field: 'value', title: 'mean', format: '.4f' }, { field: 'lower', format: '.4f' }, { field: 'upper', format: '.4f' }] },
      },
    ],
    // A fixed height (not a step): trial dots spread across each variant's band by yOffset.
    bandStep * order.variants.length,
  );
}

/** Per variant and metric: the difference from the reference with its paired-bootstrap interval, zero marked. */
export function ablationDifferencesSpec(differences: readonly VariantDifference[], order: { metrics: readonly string[]; variants: readonly string[] }, title: string, significanceLabel: string): TopLevelSpec {
  const rows = [
    ...differences.map((d) => ({ kind: 'difference', ...d, outcome: d.significant ? significanceLabel : 'not significant' })),
    // One zero row per panel: the rule every difference is read against.
    ...[...new Set(differences.map((d) => d.metric))].map((metric) => ({ kind: 'zero', metric, difference: 0 })),
  ];
  const y = { field: 'variant', type: 'nominal' as const, title: null, sort: [...order.variants] };
  const color = { field: 'outcome', type: 'nominal' as const, title: null, scale: { domain: [significanceLabel, 'not significant'], range: ['#e45756', '#4c78a8'] } };
  return metricPanels(
    title,
    `${title}: per variant, the difference from the reference with its paired-bootstrap interval, one panel per metric`,
    rows,
    order,
    [
      {
        transform: [{ filter: "datum.kind === 'zero'" }],
        mark: { type: 'rule', strokeDash: [4, 4], color: '#999' },
        encoding: { x: { field: 'difference', type: 'quantitative' } },
      },
      {
        transform: [{ filter: "datum.kind === 'difference' && datum.lower !== null && datum.upper !== null" }],
        mark: { type: 'rule', strokeWidth: 2 },
        encoding: { y, x: { field: 'lower', type: 'quantitative', title: 'difference from the reference' }, x2: { field: 'upper' }, color },
      },
      {
        transform: [{ filter: "datum.kind === 'difference'" }],
        mark: { type: 'point', filled: true, size: 60 },
        encoding: { y, x: { field: 'difference', type: 'quantitative' }, color, tooltip: [{ field: 'variant' }, { field: 'difference', format: '+.4f' }, { field: 'lower', format: '+.4f' }, { field: 'upper', format: '+.4f' }] },
      },
    ],
    { step: bandStep },
  );
}
