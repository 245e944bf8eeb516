import type { TopLevelSpec } from 'vega-lite';
import { chartBase, chartConfig } from './common.ts';

/** One row of the strip: its label and one image (a data: URI) per shown slice. */
export interface StripRow {
  label: string;
  images: readonly string[];
}

/** A grid of images: rows are preprocessing stages, columns are slices. */
export function sliceStripSpec(rows: readonly StripRow[], columnLabels: readonly string[], title: string, tileSize: number): TopLevelSpec {
  const values = rows.flatMap((row) => row.images.map((url, column) => ({ stage: row.label, slice: columnLabels[column], url })));
  return {
    ...chartBase(title, `${title}: ${rows.length} preprocessing stages (rows) of ${columnLabels.length} slices (columns)`),
    data: { values },
    width: { step: tileSize + 6 },
    height: { step: tileSize + 6 },
    // aria off: the marks' labels would repeat every image's data URI.
    mark: { type: 'image', width: tileSize, height: tileSize, aria: false },
    encoding: {
      x: { field: 'slice', type: 'ordinal', title: null, sort: [...columnLabels], axis: { orient: 'top', labelAngle: 0, ticks: false, domain: false } },
      y: { field: 'stage', type: 'nominal', title: null, sort: rows.map((r) => r.label), axis: { ticks: false, domain: false, labelLimit: 320 } },
      url: { field: 'url', type: 'nominal' },
    },
    config: { ...chartConfig, view: { stroke: null } },
  } satisfies TopLevelSpec;
}
