import type { TopLevelSpec } from 'vega-lite';
import type { ReliabilityBin } from '../../metrics/calibration.ts';
import { chartBase, unitScale } from './common.ts';

/** One panel of a reliability diagram: a class (or all classes pooled) and its probability bins. */
export interface ReliabilityPanel {
  name: string;
  bins: readonly ReliabilityBin[];
}

/**
 * Reliability diagrams, one panel per class: the fraction of positives against the mean predicted probability of
 * each non-empty bin (points sized by the bin's rows), over the diagonal a perfectly calibrated model follows.
 */
export function reliabilitySpec(panels: readonly ReliabilityPanel[], title: string): TopLevelSpec {
  const values = panels.flatMap((panel) => [
    { panel: panel.name, kind: 'diagonal', predicted: 0, observed: 0, rows: 0 },
    { panel: panel.name, kind: 'diagonal', predicted: 1, observed: 1, rows: 0 },
    ...panel.bins
      .filter((bin) => bin.count > 0)
      .map((bin) => ({ panel: panel.name, kind: 'bin', predicted: bin.meanPredicted, observed: bin.fractionPositive, rows: bin.count })),
  ]);
  const x = { field: 'predicted', type: 'quantitative' as const, title: 'mean predicted probability', scale: unitScale() };
  const y = { field: 'observed', type: 'quantitative' as const, title: 'fraction positive', scale: unitScale() };
  return {
    ...chartBase(title, `${title}: fraction of positives against the mean predicted probability per bin, one panel per class, the diagonal is perfect calibration`),
    data: { values },
    facet: { field: 'panel', type: 'nominal', title: null, sort: panels.map((p) => p.name) },
    columns: 4,
    spec: {
      width: 150,
      height: 150,
      layer: [
        { transform: [{ filter: "datum.kind === 'diagonal'" }], mark: { type: 'line', strokeDash: [4, 3], color: '#999', strokeWidth: 1 }, encoding: { x, y } },
        { transform: [{ filter: "datum.kind === 'bin'" }], mark: { type: 'line', color: '#4c78a8', strokeWidth: 1.5 }, encoding: { x, y } },
        {
          transform: [{ filter: "datum.kind === 'bin'" }],
          mark: { type: 'circle', color: '#4c78a8', opacity: 0.85 },
          encoding: {
            x,
            y,
            size: { field: 'rows', type: 'quantitative', title: 'rows in bin', scale: { range: [12, 160] } },
            tooltip: [{ field: 'panel' }, { field: 'predicted', format: '.3f' }, { field: 'observed', format: '.3f' }, { field: 'rows' }],
          },
        },
      ],
    },
  } satisfies TopLevelSpec;
}
