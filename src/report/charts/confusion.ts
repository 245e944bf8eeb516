import type { TopLevelSpec } from 'vega-lite';
import { chartBase } from './common.ts';

/** One 2×2 confusion matrix ([[tn, fp], [fn, tp]]) of one class at one decision rule. */
export interface ConfusionPanel {
  /** Column header, e.g. `subdural (t = 0.31)`. */
  className: string;
  /** Row header, e.g. `tuned thresholds` or `threshold 0.5`. */
  setting: string;
  counts: readonly (readonly number[])[];
}

const outcomes = ['negative', 'positive'];

/** Per-class confusion matrices as heatmaps (shaded by the share of each true row), columns by class, rows by setting. */
export function confusionSpec(panels: readonly ConfusionPanel[], title: string): TopLevelSpec {
  const values = panels.flatMap((panel) =>
    panel.counts.flatMap((row, t) => {
      const total = row.reduce((sum, count) => sum + count, 0);
      return row.map((count, p) => ({
        className: panel.className,
        setting: panel.setting,
        truth: outcomes[t],
        predicted: outcomes[p],
        count,
        share: total > 0 ? count / total : 0,
      }));
    }),
  );
  const position = {
    x: { field: 'predicted', type: 'nominal' as const, title: 'predicted', sort: outcomes, axis: { labelAngle: 0 } },
    y: { field: 'truth', type: 'nominal' as const, title: 'true', sort: outcomes },
  };
  const unique = (items: string[]) => [...new Set(items)];
  return {
    ...chartBase(title, `${title}: counts of true against predicted outcome per class, shaded by the share of the true row`),
    data: { values },
    facet: {
      // Header labels break at newlines: a class name on one line, its threshold on the next.
      column: { field: 'className', type: 'nominal', title: null, sort: unique(panels.map((p) => p.className)), header: { labelExpr: "split(datum.label, '\\n')" } },
      row: { field: 'setting', type: 'nominal', title: null, sort: unique(panels.map((p) => p.setting)) },
    },
    spec: {
      width: 110,
      height: 110,
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
