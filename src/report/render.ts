import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { writeFileAtomic } from '../core/atomic.ts';
import { log } from '../core/log.ts';

/**
 * Vega-Lite spec → static SVG (vega's headless view, no browser, no canvas) → PNG (sharp/librsvg). Vega escapes
 * the text it writes into SVG, so values from data (class names, ids) come out as text.
 */

/** Pixel density of the PNGs: 2× the SVG's size, sharp enough for slides. */
const PNG_DENSITY = 144;

/**
 * Vega numbers clip paths and gradients with counters that run on for the whole process (one per copy of
 * vega-scenegraph), so the same chart gets other ids each time. They are renumbered in order of appearance
 * under the figure's name: ids are unique in a page of many figures, and a report written again is identical.
 */
function renumberDefinitionIds(svg: string, prefix: string): string {
  const renamed = new Map<string, string>();
  return svg.replace(/(id="|url\(#|href="#)(clip|gradient_)(\d+)/g, (_, before: string, kind: string, number: string) => {
    const key = `${kind}${number}`;
    if (!renamed.has(key)) renamed.set(key, `${prefix}-${kind.replace('_', '')}${[...renamed.keys()].filter((k) => k.startsWith(kind)).length + 1}`);
    return `${before}${renamed.get(key)}`;
  });
}

/** Vega and Vega-Lite warnings (a conflicting scale, a dropped field) go to our log instead of the console. */
const chartLogger = vega.logger(vega.Warn, undefined, (_method, level, args) => log.warn(`vega ${level.toLowerCase()}: ${args.map(String).join(' ')}`));

/** Renders a Vega-Lite spec to an SVG string; `idPrefix` (a figure name) keeps its definition ids unique. */
export async function renderSvg(spec: TopLevelSpec, idPrefix: string): Promise<string> {
  if (!/^[A-Za-z][\w-]*$/.test(idPrefix)) throw new Error(`renderSvg: figure name '${idPrefix}' must be letters, digits, '-' or '_'`);
  const compiled = compile(spec, { logger: chartLogger }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logger: chartLogger });
  try {
    return renumberDefinitionIds(await view.toSVG(), idPrefix);
  } finally {
    view.finalize();
  }
}

/** Rasterises SVG text (a chart, or any SVG with embedded data: images) to PNG. */
export async function svgToPng(svg: string): Promise<Buffer> {
  return sharp(Buffer.from(svg), { density: PNG_DENSITY }).png().toBuffer();
}

export interface WrittenFigure {
  name: string;
  svg: string;
  svgPath: string;
  pngPath: string;
}

/** Writes `<dir>/<name>.svg` and `<dir>/<name>.png` for an SVG already rendered. */
export async function writeSvgFigure(dir: string, name: string, svg: string): Promise<WrittenFigure> {
  const svgPath = join(dir, `${name}.svg`);
  const pngPath = join(dir, `${name}.png`);
  writeFileAtomic(svgPath, svg);
  writeFileAtomic(pngPath, await svgToPng(svg));
  return { name, svg, svgPath, pngPath };
}

export interface RenderedFigure {
  name: string;
  svg: string;
  caption: string;
}

/** A report's figures in page order: each rendered to SVG as it is added, all written as SVG and PNG at the end. */
export class FigureSet {
  readonly items: RenderedFigure[] = [];

  async add(name: string, spec: TopLevelSpec, caption: string): Promise<RenderedFigure> {
    if (this.items.some((figure) => figure.name === name)) throw new Error(`internal: two figures named '${name}'`);
    const figure = { name, svg: await renderSvg(spec, name), caption };
    this.items.push(figure);
    return figure;
  }

  /**
   * Writes every figure into `dir`, and removes the SVG and PNG files of figures an earlier report of the same
   * run drew and this one did not (a regenerated report never sits beside stale figures). Returns the paths written.
   */
  async writeAll(dir: string): Promise<string[]> {
    const current = new Set(this.items.flatMap((figure) => [`${figure.name}.svg`, `${figure.name}.png`]));
    if (existsSync(dir)) {
      for (const file of readdirSync(dir)) if (/\.(svg|png)$/.test(file) && !current.has(file)) rmSync(join(dir, file));
    }
    const paths: string[] = [];
    for (const figure of this.items) {
      const { svgPath, pngPath } = await writeSvgFigure(dir, figure.name, figure.svg);
      paths.push(svgPath, pngPath);
    }
    return paths;
  }
}
