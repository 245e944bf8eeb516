import type { Dataset } from '../data/datasets/types.ts';
import type { TransformConfig } from '../data/preprocess.ts';
import { attentionHeatmapSpec } from './charts/attention.ts';
import { figureHtml, html, type SafeHtml } from './html.ts';
import type { FigureSet, RenderedFigure } from './render.ts';
import { fieldAt } from '../core/json.ts';
import type { RunFiles } from '../runs/run-dir.ts';
import { preprocessedSliceTiles } from './slice-stages.ts';

/**
 * The report's section for runs with the class-query decoder, from attention.json: per test patient and label
 * group, a class × slice heatmap of what each class query attended to, drawn under the slices the model saw.
 */

const TILE = 64;

/** The run's dataset, or why it cannot be read (the heatmaps are then drawn without their slices). */
export type DatasetSource = () => Promise<Dataset | { unavailable: string }>;

export async function attentionSection(files: RunFiles, figures: FigureSet, notes: string[], dataset: DatasetSource, options: { slices: boolean }): Promise<SafeHtml | undefined> {
  const attention = files.attention;
  if (!attention) return undefined;
  const preprocess = (fieldAt(files.config, 'data.preprocess') as TransformConfig[] | undefined) ?? [];
  const loaded = options.slices ? await dataset() : { unavailable: 'turned off for this report' };
  if ('unavailable' in loaded) notes.push(`class attention: drawn without the slices (${loaded.unavailable})`);
  const parts: RenderedFigure[] = [];
  let index = 0;
  for (const group of attention.groups) {
    for (const patient of group.patients) {
      let images: string[] | undefined;
      if (!('unavailable' in loaded)) {
        try {
          const tiles = await preprocessedSliceTiles(loaded, { patient: patient.id, sliceIndices: patient.sliceIndices, preprocess, tileSize: 2 * TILE });
          images = tiles.map((png) => `data:image/png;base64,${png.toString('base64')}`);
        } catch (error) {
          notes.push(`class attention of patient ${patient.id}: drawn without its slices (${(error as Error).message})`);
        }
      }
      const scope = attention.groups.length > 1 ? ` (${group.group})` : '';
      const spec = attentionHeatmapSpec(
        {
          title: `Class attention of ${attention.split} patient ${patient.id}${scope}`,
          sliceLabels: patient.sliceIndices.map((s) => `${s + 1}/${patient.sliceCount}`),
          classLabels: group.classes.map((name, c) => `${name} (p ${patient.probabilities[c].toFixed(2)})`),
          weights: patient.attention,
          ...(images ? { images } : {}),
        },
        TILE,
      );
      const levelNote =
        group.level === 'slice' ? ' Labels are per slice: each slice has its own class queries, and a row is their attention averaged over the real slices (p: the highest over the slices).' : '';
      parts.push(
        await figures.add(
          `attention-${++index}`,
          spec,
          `${attention.split[0].toUpperCase()}${attention.split.slice(1)} patient ${patient.id}: each class query's attention (rows; p = predicted probability) over the ` +
            `${patient.sliceIndices.length} slices the model saw (columns: slice of the patient's ${patient.sliceCount}), under those slices after the run's ` +
            `preprocessing without its random steps. A row sums to 1: the last decoder block's cross-attention, averaged over its heads.${levelNote}`,
        ),
      );
    }
  }
  return parts.length > 0 ? html`${parts.map(figureHtml)}` : html`<p>attention.json lists no patients.</p>`;
}
