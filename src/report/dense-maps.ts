import sharp from 'sharp';
import { fieldAt } from '../core/json.ts';
import type { DenseExample as Example } from '../runs/dense-examples.ts';
import type { RunFiles } from '../runs/run-dir.ts';
import { RUN_FILES } from '../runs/layout.ts';
import { sliceStripSpec } from './charts/slices.ts';
import { figureHtml, formatNumber as format, html, htmlTable, type SafeHtml } from './html.ts';
import type { FigureSet } from './render.ts';

/**
 * The report's section for dense-ordinal maps: for a few validation slices (runs/dense-examples.ts), each type's
 * true grade map beside the grades the model's output gives and the continuous output itself, on one colour
 * scale (grade 0 dark … top grade red; unlabelled pixels blue); then Dice per grade and pixel MAE per type, and the
 * test pixels whose combination of grades no training image shows. The metrics table and grade confusion
 * matrices are in the label-groups section (metrics.json groups).
 */
const TILE = 96;

/** Grade (or continuous value) → colour: dark grey, yellow, orange, red along 0..levels-1. */
const ramp: Array<[number, number, number]> = [
  [30, 30, 30],
  [240, 220, 60],
  [245, 140, 30],
  [210, 30, 30],
];

function colourOf(value: number, levels: number): [number, number, number] {
  const position = Math.min(1, Math.max(0, value / (levels - 1))) * (ramp.length - 1);
  const low = Math.floor(position);
  const high = Math.min(ramp.length - 1, low + 1);
  const f = position - low;
  return [0, 1, 2].map((k) => Math.round(ramp[low][k] * (1 - f) + ramp[high][k] * f)) as [number, number, number];
}

async function tile(rgb: Uint8Array, rows: number, cols: number): Promise<string> {
  const png = await sharp(rgb, { raw: { width: cols, height: rows, channels: 3 } }).resize(TILE, TILE, { kernel: 'nearest', fit: 'fill' }).png().toBuffer();
  return `data:image/png;base64,${png.toString('base64')}`;
}

function mapTile(values: readonly number[], example: Example, levels: number, ignore: number): Promise<string> {
  const rgb = new Uint8Array(example.rows * example.cols * 3);
  values.forEach((value, i) => rgb.set(value === ignore ? [60, 90, 200] : colourOf(value, levels), i * 3));
  return tile(rgb, example.rows, example.cols);
}

/** The input as the model saw it: RGB when it has three channels, else its first channel, stretched to 0..255. */
function imageTile(example: Example): Promise<string> {
  const { channels, data } = example.image;
  const shown = channels === 3 ? 3 : 1;
  const pixels = example.rows * example.cols;
  const picked = Array.from({ length: pixels * shown }, (_, i) => data[Math.floor(i / shown) * channels + (i % shown)]);
  const low = Math.min(...picked);
  const high = Math.max(...picked);
  const rgb = new Uint8Array(pixels * 3);
  for (let p = 0; p < pixels; p++) {
    for (let k = 0; k < 3; k++) rgb[p * 3 + k] = Math.round((255 * (picked[p * shown + (shown === 3 ? k : 0)] - low)) / (high - low || 1));
  }
  return tile(rgb, example.rows, example.cols);
}

type PerClass = { perClass: Record<string, number | null> };

function scoresTable(group: Record<string, unknown>, caption: string): SafeHtml {
  const dice = group.dice as Record<string, Array<number | null>>;
  const pixelMae = group.pixel_mae as PerClass;
  const accuracy = group.accuracy as PerClass;
  const qwk = group.qwk as PerClass;
  const levels = Math.max(...Object.values(dice).map((d) => d.length));
  const rows = Object.keys(dice).map((type) => [type, format(pixelMae.perClass[type]), format(accuracy.perClass[type]), format(qwk.perClass[type]), ...dice[type].map((d) => format(d))]);
  return htmlTable(['type', 'pixel MAE', 'exact grade', 'QWK', ...Array.from({ length: levels }, (_, k) => `Dice ${k}`)], rows, { caption });
}

/** The section's body, or undefined when the run has no dense examples (not a dense run). */
export async function denseMapsSection(files: RunFiles, figures: FigureSet): Promise<SafeHtml | undefined> {
  if (!files.denseExamples) return undefined;
  const { group, examples } = files.denseExamples;
  const parts: SafeHtml[] = [];
  if (examples.length > 0) {
    const stripRows = [];
    for (const example of examples) {
      const image = await imageTile(example);
      for (const [label, maps] of [['true grades', example.truth], ['predicted grades', example.grades], ['continuous output', example.values]] as const) {
        stripRows.push({ label: `${example.id}: ${label}`, images: [image, ...(await Promise.all(maps.map((map) => mapTile(map, example, group.levels, group.ignoreValue))))] });
      }
    }
    const figure = await figures.add('dense-maps', sliceStripSpec(stripRows, ['image', ...group.classes], `Grade maps of group ${group.name} (validation)`, TILE), `For ${examples.length} validation slices, per type: the true grade map, the grades read from the output (thresholds in ${RUN_FILES.denseThresholds}) and the continuous output, coloured dark (0) → yellow → orange → red (${group.levels - 1}); blue pixels are unlabelled.`);
    parts.push(figureHtml(figure));
  }
  for (const [key, split] of [['test', 'test'], ['val', 'validation']] as const) {
    const scores = fieldAt(files.metrics, `${key}.groups.${group.name}`) as Record<string, unknown> | undefined;
    if (!scores) continue;
    parts.push(scoresTable(scores, `${split} split, every labelled pixel: pixel MAE of the continuous output, exact-grade accuracy, QWK and Dice per grade (null: the grade is neither true nor predicted anywhere).`));
    const unseen = fieldAt(files.metrics, `${key}.unseen`) as { pixels: number; joint_accuracy: number | null; groups: Record<string, Record<string, unknown>> } | undefined;
    if (unseen && unseen.pixels > 0) {
      parts.push(html`<p>${split}: ${String(unseen.pixels)} labelled pixels hold a combination of grades that no training image shows; all four types graded right at ${format(unseen.joint_accuracy)} of them.</p>`);
      parts.push(scoresTable(unseen.groups[group.name], `${split} split, only the pixels whose combination of grades never occurs in training.`));
    }
    break;
  }
  return html`${parts}`;
}
