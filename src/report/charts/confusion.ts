import type { TopLevelSpec } from 'vega-lite';
import { chartBase } from './common.ts';

/** One 2×2 confusion matrix ([[tn, fp], [fn, tp]]) of one class at one decision rule. */
export interface ConfusionPanel {
  /** Column header, e.g. `subdural (t = 0.31)`. */
  className: string;
  /** Row header, e.g. `tuned thresholds` or `threshold 0.5`. */
  setting: string;
  counts: readonly (readonly number[])[];
  /** Names of the rows and columns (default negative/positive): a categorical group's classes, an ordinal class's grades. */
  labels?: readonly string[];
}

const outcomes = ['negative', 'positive'];

/**
 * Confusion matrices as heatmaps (shaded by the share of each true row), columns by class (or group), rows by
 * setting. Panels with other labels than the binary negative/positive get scales of their own.
 */
export function confusionSpec(panels: readonly ConfusionPanel[], title: string): TopLevelSpec {
  const labelsOf = (panel: ConfusionPanel) => panel.labels ?? outcomes;
  const values = panels.flatMap((panel) =>
    panel.counts.flatMap((row, t) => {
      const total = row.reduce((sum, count) => sum + count, 0);
      return row.map((count, p) => ({
        className: panel.className,
        setting: panel.setting,
        truth: labelsOf(panel)[t],
        predicted: labelsOf(panel)[p],
        count,
        share: total > 0 ? count / total : 0,
      }));
    }),
  );
  const unique = (items: readonly string[]) => [...new Set(items)];
  const order = unique(panels.flatMap(labelsOf));
  const size = Math.max(110, 34 * Math.max(...panels.map((panel) => labelsOf(panel).length)));
  const position = {
    x: { field: 'predicted', type: 'nominal' as const, title: 'predicted', sort: order, axis: { labelAngle: 0 } },
    y: { field: 'truth', type: 'nominal' as const, title: 'true', sort: order },
  };
  return {
    ...chartBase(title, `${title}: counts of true against predicted outcome per class, shaded by the share of the true row`),
    data: { values },
    facet: {
      // Header labels break at newlines: a class name on one line, its threshold on the next.
      column: { field: 'className', type: 'nominal', title: null, sort: unique(panels.map((p) => p.className)), header: { labelExpr: "split(datum.label, '\\n')" } },
      row: { field: 'setting', type: 'nominal', title: null, sort: unique(panels.map((p) => p.setting)) },
    },
    ...(panels.some((panel) => panel.labels) ? { resolve: { scale: { x: 'independent', y: 'independent' } } } : {}),
    spec: {
      width: size,
      height: size,
      encoding: position,
      layer: [
        {
          mark: { type: 'rect', stroke: 'white' },
          encoding: { color: { field: 'share', type: 'quantitative', title: 'share of true row', scale: { domain: [0, 1], scheme: 'blues' } } },
        },
        {
          mark: { type: 'text', fontSize: 13 },
          encoding: {
            text: { field: 'count', type: 'quantitative' },
            color: { condition: { test: 'datum.share > 0.55', value: 'white' }, value: 'black' },
          },
        },
      ],
    },
  } satisfies TopLevelSpec;
}
