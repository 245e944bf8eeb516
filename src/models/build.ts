import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { join } from 'node:path';
import { fieldAt, readJson } from '../core/json.ts';
import { Rng } from '../core/rng.ts';
import { parseOrThrow } from '../core/validate.ts';
import { totalOutputWidth, type LabelSchema } from '../labels/schema.ts';
import { backbones, type Backbone, type ImageShape } from './backbones/index.ts';
import { decoders } from './decoders/index.ts';
import { encoders, outputLevels, type OutputLevel } from './encoders/index.ts';
import { readsSlices } from './decoders/index.ts';
import { heads, type Head } from './heads/index.ts';
import { MaskedPooling } from './layers/masked-pooling.ts';
import './layers/index.ts';
import { foldApplyUnfold, stackingModes, stackSlices } from './stack.ts';
import { denseOutputWidth, type DenseOrdinalGroup } from '../labels/dense-ordinal.ts';
import { denseModels } from './dense/index.ts';
import { SliceNeighbours } from './layers/dense-maps.ts';

/** `{ name, ...options }` of one registered component; the options are validated by its registry entry. */
const componentConfigSchema = z.looseObject({ name: z.string().min(1) });

export const modelConfigSchema = z
  .object({
    backbone: componentConfigSchema.optional().describe('The per-slice CNN (a registered backbone); not needed when the model reads precomputed slice embeddings.'),
    encoder: componentConfigSchema.optional().describe('The slice encoder (context over slices); required unless the model is a dense (per-pixel) one.'),
    decoder: componentConfigSchema.optional().describe('The label decoder of binary groups; required unless the model is a dense one.'),
    heads: z
      .record(z.string(), z.record(z.string(), z.unknown()))
      .default({})
      .describe('Options per head kind (`binary`, `categorical`, `ordinal`), e.g. `{ ordinal: { neck: 16 } }`.'),
    stacking: z.enum(stackingModes).default('fold').describe('`fold`: real slices folded into the batch, one backbone call; `timeDistributed`: one call per slice position, padding included (the benchmark baseline).'),
    dense: componentConfigSchema
      .optional()
      .describe('A per-pixel model (`{ name: \'unet\', ... }`, models/dense) for dense label maps, instead of backbone → encoder → heads.'),
  })
  .strict()
  .superRefine((config, ctx) => {
    if (config.dense) return;
    for (const part of ['encoder', 'decoder'] as const) {
      if (!config[part]) ctx.addIssue({ code: 'custom', path: [part], message: 'required (unless the model is a dense one, model.dense)' });
    }
  });

export type ModelConfig = z.output<typeof modelConfigSchema>;
export type ModelConfigInput = z.input<typeof modelConfigSchema>;

const dimension = z.number().int().positive();

export const imageInputShapeSchema = z.object({ slices: dimension.optional(), height: dimension, width: dimension, channels: dimension }).strict();
/** Two-stage mode: precomputed per-slice embeddings (e.g. cached CNN features) instead of images. */
export const embeddingInputShapeSchema = z.object({ slices: dimension.optional(), features: dimension }).strict();
export const inputShapeSchema = z.union([imageInputShapeSchema, embeddingInputShapeSchema]);
export type ModelInputShape = z.output<typeof inputShapeSchema>;

export interface BuildModelOptions {
  /** The image-level label schema; a dense model reads `dense` instead. */
  schema?: LabelSchema;
  /** The dense-ordinal group a dense model (`model.dense`) emits maps for. */
  dense?: DenseOrdinalGroup;
  /** One draw from it seeds every weight; each component derives its own stream, so adding one never shifts another. */
  rng: Rng;
  /** `slices` left out: any number of slices per batch. */
  inputShape: ModelInputShape;
  level: OutputLevel;
  name?: string;
}

/** What `buildModel` records in the model's user-defined metadata (saved with it). */
export interface ModelMetadata {
  config: ModelConfig;
  labelSchema?: LabelSchema;
  dense?: DenseOrdinalGroup;
  inputShape: ModelInputShape;
  level: OutputLevel;
}

export const metadataKey = 'sliceseq';

function backboneFrom(config: ModelConfig['backbone'], seed: number, imageShape: ImageShape): Backbone {
  if (!config) throw new Error('invalid model config:\n  backbone: required when the model reads images (inputShape has height, width, channels)');
  return backbones.create(config, { rng: Rng.derive(seed, 'backbone'), imageShape }, 'model config backbone');
}

/**
 * The backbone alone, [n, H, W, C] → [n, features], with the weights `buildModel` gives its backbone for the same
 * Rng state: the first stage of the two-stage mode (cache slice embeddings, then train on them).
 */
export function buildBackbone(config: z.input<typeof componentConfigSchema>, options: { rng: Rng; imageShape: ImageShape }): Backbone {
  const parsed = parseOrThrow(componentConfigSchema, config, 'backbone config');
  return backboneFrom(parsed, options.rng.seed(), parseOrThrow(imageInputShapeSchema.omit({ slices: true }), options.imageShape, 'backbone imageShape'));
}

/**
 * Parts this model does not build (the backbone on embeddings, the decoder without binary labels, heads of kinds
 * the schema lacks; with a dense model, every slice-sequence part given) are still checked; the parts it builds
 * are checked once, by their registries as they build.
 */
function validateUnusedParts(config: ModelConfig, schema: LabelSchema | undefined, readsEmbeddings: boolean): void {
  const kinds = new Set<string>(config.dense ? [] : (schema?.groups ?? []).map((group) => group.kind));
  if (config.backbone && (readsEmbeddings || config.dense)) backbones.resolve(config.backbone.name, withoutName(config.backbone), 'model config backbone');
  if (config.encoder && config.dense) encoders.resolve(config.encoder.name, withoutName(config.encoder), 'model config encoder');
  if (config.decoder && !kinds.has('binary')) decoders.resolve(config.decoder.name, withoutName(config.decoder), 'model config decoder');
  for (const [kind, options] of Object.entries(config.heads)) if (!kinds.has(kind)) heads.resolve(kind, options, `model config heads.${kind}`);
}

function withoutName({ name: _name, ...options }: { name: string } & Record<string, unknown>): Record<string, unknown> {
  return options;
}

type RowHead = (features: tf.SymbolicTensor) => tf.SymbolicTensor;

function concatenateLogits(outputs: tf.SymbolicTensor[]): tf.SymbolicTensor {
  return outputs.length === 1 ? outputs[0] : (tf.layers.concatenate({ name: 'logits', axis: -1 }).apply(outputs) as tf.SymbolicTensor);
}

/** Every head reads feature rows: the patient vector, or each real slice's row (one fold for all heads). */
function rowHeads(groupHeads: RowHead[], encoded: tf.SymbolicTensor, mask: tf.SymbolicTensor, level: OutputLevel): tf.SymbolicTensor {
  const allHeads = (features: tf.SymbolicTensor) => concatenateLogits(groupHeads.map((head) => head(features)));
  return level === 'patient' ? allHeads(encoded) : foldApplyUnfold(encoded, mask, allHeads, 'slice_outputs');
}

/**
 * Some head's decoder reads the slices (`encoded` is then per slice at either level). Those heads get the
 * per-slice outputs and the mask; the other heads read, at slice level, each real slice's row, and at patient
 * level the per-slice outputs pooled with the encoder's `pooling` (which must then be `mean` or `max`).
 */
function sliceReadingHeads(
  groupHeads: Head[],
  encoded: tf.SymbolicTensor,
  mask: tf.SymbolicTensor,
  context: { level: OutputLevel; schema: LabelSchema; encoder: NonNullable<ModelConfig['encoder']> },
): tf.SymbolicTensor {
  const { level, schema, encoder } = context;
  let pooled: tf.SymbolicTensor | null = null;
  const patientVector = () => {
    if (pooled) return pooled;
    const pooling = encoders.resolve(encoder.name, withoutName(encoder), 'model config encoder').pooling;
    if (pooling !== 'mean' && pooling !== 'max') {
      const others = schema.groups.filter((_, g) => !readsSlices(groupHeads[g])).map((group) => group.name);
      throw new Error(
        `invalid model config:\n  encoder.pooling: the decoder reads the slices, so the heads of ${others.join(', ')} read the encoder's per-slice outputs ` +
          `pooled over the slices; give pooling 'mean' or 'max' (got '${String(pooling)}')`,
      );
    }
    pooled = new MaskedPooling({ name: 'heads_pool', mode: pooling }).apply([encoded, mask]) as tf.SymbolicTensor;
    return pooled;
  };
  const outputs = groupHeads.map((head, g) => {
    if (readsSlices(head)) return head.apply(encoded, mask);
    return level === 'patient' ? head(patientVector()) : foldApplyUnfold(encoded, mask, head, `slice_outputs_${schema.groups[g].name}`);
  });
  return concatenateLogits(outputs);
}

/**
 * Builds the model from a plain config. Inputs: [images [b, s, H, W, C] (or embeddings [b, s, F]), mask [b, s]
 * (1 real slice, 0 padding)]; output: the flat logits row in label-schema order, [b, width] for patient-level
 * labels or [b, s, width] for slice-level labels (zeros at padded slices).
 */
export function buildModel(config: ModelConfigInput, options: BuildModelOptions): tf.LayersModel {
  const parsed = parseOrThrow(modelConfigSchema, config, 'model config');
  const inputShape = parseOrThrow(inputShapeSchema, options.inputShape, 'model inputShape');
  const level = parseOrThrow(z.enum(outputLevels), options.level, 'model level');
  validateUnusedParts(parsed, options.schema, 'features' in inputShape);
  if (parsed.dense) return buildDenseModel(parsed, parsed.dense, inputShape, level, options);
  const { schema } = options;
  if (!schema || !parsed.encoder || !parsed.decoder) throw new Error('model config: a model with a slice encoder and label decoder needs a label schema, encoder and decoder');
  const decoder = parsed.decoder;
  const seed = options.rng.seed();
  const slices = inputShape.slices ?? null;

  const mask = tf.input({ shape: [slices], name: 'mask' });
  let input: tf.SymbolicTensor;
  let sequence: tf.SymbolicTensor;
  if ('features' in inputShape) {
    input = tf.input({ shape: [slices, inputShape.features], name: 'embeddings' });
    sequence = input;
  } else {
    const backbone = backboneFrom(parsed.backbone, seed, inputShape);
    input = tf.input({ shape: [slices, inputShape.height, inputShape.width, inputShape.channels], name: 'images' });
    sequence = stackSlices(input, mask, backbone.model, parsed.stacking);
  }

  const groupHeads = schema.groups.map((group) =>
    heads.create(
      { name: group.kind, ...(parsed.heads[group.kind] ?? {}) },
      { group, rng: Rng.derive(seed, 'head', group.name), decoder, level },
      `model config heads.${group.kind}`,
    ),
  );
  // A decoder that reads the slices needs the encoder's per-slice outputs, whatever the label level.
  const slicesRead = groupHeads.some(readsSlices);
  const encoder = encoders.create(parsed.encoder, { rng: Rng.derive(seed, 'encoder'), level: slicesRead ? 'slice' : level }, 'model config encoder');
  const encoded = encoder(sequence, mask);
  const logits = slicesRead ? sliceReadingHeads(groupHeads, encoded, mask, { level, schema, encoder: parsed.encoder }) : rowHeads(groupHeads as RowHead[], encoded, mask, level);

  const width = logits.shape[logits.shape.length - 1];
  if (width !== totalOutputWidth(schema)) throw new Error(`internal: the heads emit ${width} logits, the label schema needs ${totalOutputWidth(schema)}`);
  const model = tf.model({ inputs: [input, mask], outputs: logits, name: options.name ?? 'sliceseq' });
  const metadata: ModelMetadata = { config: parsed, labelSchema: schema, inputShape, level };
  model.setUserDefinedMetadata({ [metadataKey]: metadata as unknown as {} });
  return model;
}

/**
 * A dense model: images [b, s, H, W, C] (with `context` neighbours joined as channels for 2.5D) and mask [b, s]
 * → maps [b, s, H, W, outputWidth], the per-slice network run on the real slices only (zeros at padded ones).
 */
function buildDenseModel(parsed: ModelConfig, config: { name: string } & Record<string, unknown>, inputShape: ModelInputShape, level: OutputLevel, options: BuildModelOptions): tf.LayersModel {
  if (!options.dense) throw new Error('model config dense: a dense model needs a dense-ordinal label group (the dataset\'s masks)');
  if ('features' in inputShape) throw new Error('model config dense: a dense model reads images, not slice embeddings');
  const resolved = denseModels.resolve(config.name, withoutName(config), 'model config dense');
  const context = typeof resolved.context === 'number' ? resolved.context : 0;
  const channels = inputShape.channels * (2 * context + 1);
  const net = denseModels.create(config, { rng: Rng.derive(options.rng.seed(), 'dense'), imageShape: { height: inputShape.height, width: inputShape.width, channels }, outputs: denseOutputWidth(options.dense) }, 'model config dense');
  const mask = tf.input({ shape: [inputShape.slices ?? null], name: 'mask' });
  const images = tf.input({ shape: [inputShape.slices ?? null, inputShape.height, inputShape.width, inputShape.channels], name: 'images' });
  const stacked = context > 0 ? (new SliceNeighbours({ name: 'slice_neighbours', context }).apply(images) as tf.SymbolicTensor) : images;
  const maps = foldApplyUnfold(stacked, mask, (rows) => net.model.apply(rows) as tf.SymbolicTensor, 'dense');
  const model = tf.model({ inputs: [images, mask], outputs: maps, name: options.name ?? 'sliceseq' });
  const metadata: ModelMetadata = { config: parsed, dense: options.dense, inputShape, level };
  model.setUserDefinedMetadata({ [metadataKey]: metadata as unknown as {} });
  return model;
}

/** The metadata `buildModel` stored in a saved model directory's model.json, without loading its weights. */
export function storedModelMetadata(dir: string): ModelMetadata {
  const file = join(dir, 'model.json');
  const stored = fieldAt(readJson(file), `userDefinedMetadata.${metadataKey}`) as ModelMetadata | undefined;
  if (!stored) throw new Error(`${file}: no sliceseq metadata (not a model sliceseq saved)`);
  return stored;
}

/** The metadata `buildModel` stored in a model (also after `loadModel`), or null for other models. */
export function modelMetadata(model: tf.LayersModel): ModelMetadata | null {
  const stored = model.getUserDefinedMetadata() as Record<string, unknown> | undefined;
  return (stored?.[metadataKey] as ModelMetadata | undefined) ?? null;
}
