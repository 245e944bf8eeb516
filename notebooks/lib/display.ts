import * as tslab from 'tslab';
import type { TopLevelSpec } from 'vega-lite';
import { chartBase } from '../../src/report/charts/common.ts';
import { sliceStripSpec } from '../../src/report/charts/slices.ts';
import { htmlTable } from '../../src/report/html.ts';
import { renderSvg, svgToPng } from '../../src/report/render.ts';

/**
 * How the notebooks show results in a cell's output, through tslab's display: charts rendered to SVG as the run
 * reports render them, tables as HTML, and image strips as one PNG (as SVG they would embed every tile).
 */

/**
 * Shows a Vega-Lite spec as an SVG figure. A spec from src/report/charts is complete; one written in a notebook
 * passes `style` to get the reports' title, description and look.
 */
export async function showChart(name: string, spec: object, style?: { title: string; description: string }): Promise<void> {
  const full = (style ? { ...chartBase(style.title, style.description), ...spec } : spec) as TopLevelSpec;
  tslab.display.svg(await renderSvg(full, name));
}

/** Shows rows of cells as a table; text from data is escaped. */
export function showTable(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): void {
  tslab.display.html(htmlTable(header, rows).markup);
}

/** One row of PNG tiles (e.g. a preprocessing stage of buildSliceStages) under its label. */
export interface TileRow {
  label: string;
  tiles: readonly Buffer[];
}

/** Shows rows of PNG tiles as one image, columns labelled (e.g. by slice). */
export async function showTiles(name: string, title: string, rows: readonly TileRow[], columnLabels: readonly string[], tileSize: number): Promise<void> {
  const strip = sliceStripSpec(
    rows.map((row) => ({ label: row.label, images: row.tiles.map((png) => `data:image/png;base64,${png.toString('base64')}`) })),
    columnLabels,
    title,
    tileSize,
  );
  tslab.display.png(await svgToPng(await renderSvg(strip, name)));
}
