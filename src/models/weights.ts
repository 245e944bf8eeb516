import { Rng } from '../core/rng.ts';
import { backbones, pretrainedMatchings } from './backbones/index.ts';
import { saveModel } from './io.ts';
import { checkShapes, planWeights } from './pretrained/mapping.ts';
import { resolveNormalization } from './pretrained/load.ts';
import type { Normalization } from './pretrained/normalization.ts';
import { openWeights, weightFormatOf, weightsPath, type WeightsOption } from './pretrained/open.ts';
import { describeShape, type WeightFormat, type WeightLayout } from './pretrained/source.ts';
import { convertedMetadataKey, type ConvertedMetadata } from './pretrained/tfjs-folder.ts';

/** `sliceseq weights inspect|convert`: what a weight file holds, how it maps onto a backbone, and a tfjs copy. */
export interface BackboneFit {
  backbone: string;
  /** The first problem (missing layer, misfit shape), or null when every layer fits. */
  error: string | null;
  mapping: Array<{ layer: string; source: string; tensors: Array<{ name: string; shape: number[] }> }>;
  /** The file's tensors no layer takes (a classifier top, batch-norm counters). */
  unused: string[];
  /** Our layers the file has nothing for (they keep their initial values). */
  kept: string[];
  normalize: Normalization;
}

export interface WeightsInspection {
  path: string;
  format: WeightFormat;
  layout: WeightLayout;
  layers: Array<{ name: string; tensors: Array<{ name: string; shape: number[] }> }>;
  fits: BackboneFit[];
}

const inspectShape = { height: 64, width: 64, channels: 3 };

/** The file's layers and, for each backbone that takes pretrained weights (or the one named), how they map. */
export function inspectWeights(weights: WeightsOption, options: { backbone?: string } = {}): WeightsInspection {
  const file = openWeights(weights);
  const names = options.backbone ? [options.backbone] : Object.keys(pretrainedMatchings);
  const fits = names.map((name): BackboneFit => {
    const matching = pretrainedMatchings[name];
    if (!matching) throw new Error(`backbone '${name}' takes no pretrained weights; these do: ${Object.keys(pretrainedMatchings).join(', ')}`);
    const normalize = resolveNormalization({ weights, normalize: 'auto' });
    const { model } = backbones.create({ name }, { rng: new Rng(0), imageShape: inspectShape }, `backbone '${name}'`);
    try {
      const where = `backbone '${name}'`;
      const plan = planWeights(model, file, matching, where);
      checkShapes(plan, where);
      const mapping = plan.assignments.map(({ layer, source, tensors }) => ({ layer: layer.name, source: source.name, tensors: tensors.map(({ name: t, shape }) => ({ name: t, shape })) }));
      return { backbone: name, error: null, mapping, unused: plan.unused, kept: plan.kept, normalize };
    } catch (error) {
      return { backbone: name, error: (error as Error).message, mapping: [], unused: [], kept: [], normalize };
    } finally {
      model.dispose();
    }
  });
  const layers = file.layers.map(({ name, tensors }) => ({ name, tensors: tensors.map(({ name: t, shape }) => ({ name: t, shape })) }));
  return { path: file.path, format: file.format, layout: file.layout, layers, fits };
}

export function formatInspection(report: WeightsInspection): string {
  const lines = [`${report.path}: ${report.format} (${report.layout} layout), ${report.layers.length} layers with weights`];
  for (const layer of report.layers) lines.push(`  ${layer.name}: ${layer.tensors.map((t) => `${t.name.split(/[/.]/).pop()} ${describeShape(t.shape)}`).join(', ')}`);
  for (const fit of report.fits) {
    if (fit.error) {
      lines.push(`${fit.backbone}: does not fit: ${fit.error}`);
      continue;
    }
    lines.push(`${fit.backbone}: fits (${fit.mapping.length} layers; input normalisation '${fit.normalize}')`);
    for (const entry of fit.mapping) lines.push(`  ${entry.layer} ← ${entry.source}`);
    if (fit.unused.length) lines.push(`  not used: ${fit.unused.join(', ')}`);
    if (fit.kept.length) lines.push(`  not in the file (kept at initial values): ${fit.kept.join(', ')}`);
  }
  return lines.join('\n');
}

/**
 * Loads the file into `backbone` (a misfit fails naming the first layer and both shapes) and writes it as a
 * tfjs Layers folder whose model.json records the source and the input normalisation, so `weights: OUT`
 * later gives the same backbone.
 */
export async function convertWeights(
  weights: WeightsOption,
  options: { backbone: string; out: string; normalize?: Normalization; imageShape?: { height: number; width: number; channels: number } },
): Promise<ConvertedMetadata> {
  if (!pretrainedMatchings[options.backbone]) {
    throw new Error(`backbone '${options.backbone}' takes no pretrained weights; these do: ${Object.keys(pretrainedMatchings).join(', ')}`);
  }
  const normalize = options.normalize ?? resolveNormalization({ weights, normalize: 'auto' });
  const { model } = backbones.create(
    { name: options.backbone, weights, normalize },
    { rng: new Rng(0), imageShape: options.imageShape ?? { height: 224, width: 224, channels: 3 } },
    `backbone '${options.backbone}'`,
  );
  try {
    const metadata: ConvertedMetadata = { source: weightsPath(weights), format: weightFormatOf(weights), backbone: options.backbone, normalize };
    model.setUserDefinedMetadata({ [convertedMetadataKey]: metadata as unknown as {} });
    await saveModel(model, options.out);
    return metadata;
  } finally {
    model.dispose();
  }
}
