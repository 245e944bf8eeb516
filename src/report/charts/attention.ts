import type { TopLevelSpec } from 'vega-lite';
import { chartBase, chartConfig } from './common.ts';

export interface AttentionHeatmap {
  title: string;
  /** One label per column (slice), in the order the model saw them. */
  sliceLabels: readonly string[];
  /** One label per row (class). */
  classLabels: readonly string[];
  /** [classes][slices] */
  weights: readonly (readonly number[])[];
  /** One image (a data: URI) per slice, drawn above its column; absent when the slices could not be read. */
  images?: readonly string[];
}

/** Width kept for the row labels of both parts, so the heatmap's columns sit under their slices. */
const LABEL_EXTENT = 230;

/** A class × slice heatmap of attention weights, under the slices themselves when their images are given. */
export function attentionHeatmapSpec(heatmap: AttentionHeatmap, tileSize: number): TopLevelSpec {
  const { sliceLabels, classLabels, weights, images } = heatmap;
  const column = { field: 'slice', type: 'ordinal' as const, title: null, sort: [...sliceLabels] };
  const rowAxis = { ticks: false, domain: false, minExtent: LABEL_EXTENT, maxExtent: LABEL_EXTENT, labelLimit: LABEL_EXTENT - 10 };
  const cell = { width: { step: tileSize + 4 } };
  const grid = {
    ...cell,
    height: { step: 20 },
    data: { values: classLabels.flatMap((label, c) => sliceLabels.map((slice, s) => ({ class: label, slice, weight: weights[c][s] }))) },
    mark: { type: 'rect' as const, stroke: 'white', strokeWidth: 1 },
    encoding: {
      x: { ...column, axis: { labelAngle: 0, ticks: false, domain: false, orient: 'bottom' as const } },
      y: { field: 'class', type: 'nominal' as const, title: null, sort: [...classLabels], axis: rowAxis },
      color: { field: 'weight', type: 'quantitative' as const, title: 'attention', scale: { scheme: 'blues', domainMin: 0 } },
      tooltip: [{ field: 'class' }, { field: 'slice' }, { field: 'weight', format: '.3f' }],
    },
  };
  const description = `${heatmap.title}: attention of ${classLabels.length} classes (rows) over ${sliceLabels.length} slices (columns)`;
  if (!images) return { ...chartBase(heatmap.title, description), ...grid } as TopLevelSpec;
  const strip = {
    ...cell,
    height: { step: tileSize + 4 },
    data: { values: sliceLabels.map((slice, s) => ({ row: 'slice', slice, url: images[s] })) },
    // aria off: the marks' labels would repeat every image's data URI.
    mark: { type: 'image' as const, width: tileSize, height: tileSize, aria: false },
    encoding: {
      x: { ...column, axis: { orient: 'top' as const, labelAngle: 0, ticks: false, domain: false } },
      y: { field: 'row', type: 'nominal' as const, title: null, axis: { ...rowAxis, labels: false } },
      url: { field: 'url', type: 'nominal' as const },
    },
  };
  return {
    ...chartBase(heatmap.title, `${description}, under the slices`),
    vconcat: [strip, grid],
    spacing: 4,
    config: { ...chartConfig, view: { stroke: null } },
  } as TopLevelSpec;
}
