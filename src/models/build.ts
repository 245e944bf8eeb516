import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { Rng } from '../core/rng.ts';
import { parseOrThrow } from '../core/validate.ts';
import { totalOutputWidth, type LabelSchema } from '../labels/schema.ts';
import { backbones, type Backbone, type ImageShape } from './backbones/index.ts';
import { decoders } from './decoders/index.ts';
import { encoders, outputLevels, type OutputLevel } from './encoders/index.ts';
import { heads } from './heads/index.ts';
import './layers/index.ts';
import { foldApplyUnfold, stackingModes, stackSlices } from './stack.ts';

/** `{ name, ...options }` of one registered component; the options are validated by its registry entry. */
const componentConfigSchema = z.looseObject({ name: z.string().min(1) });

export const modelConfigSchema = z
  .object({
    /** The per-slice CNN; not needed when the model reads precomputed slice embeddings. */
    backbone: componentConfigSchema.optional(),
    encoder: componentConfigSchema,
    decoder: componentConfigSchema,
    /** Options per head kind (`binary`, `categorical`, `ordinal`), e.g. `{ ordinal: { neck: 16 } }`. */
    heads: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
    stacking: z.enum(stackingModes).default('fold'),
  })
  .strict();

export type ModelConfig = z.output<typeof modelConfigSchema>;
export type ModelConfigInput = z.input<typeof modelConfigSchema>;

const dimension = z.number().int().positive();

export const imageInputShapeSchema = z.object({ slices: dimension.optional(), height: dimension, width: dimension, channels: dimension }).strict();
/** Two-stage mode: precomputed per-slice embeddings (e.g. cached CNN features) instead of images. */
export const embeddingInputShapeSchema = z.object({ slices: dimension.optional(), features: dimension }).strict();
export const inputShapeSchema = z.union([imageInputShapeSchema, embeddingInputShapeSchema]);
export type ModelInputShape = z.output<typeof inputShapeSchema>;

export interface BuildModelOptions {
  schema: LabelSchema;
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
  labelSchema: LabelSchema;
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
 * the schema lacks) are still checked; the parts it builds are checked once, by their registries as they build.
 */
function validateUnusedParts(config: ModelConfig, schema: LabelSchema, readsEmbeddings: boolean): void {
  const kinds = new Set<string>(schema.groups.map((group) => group.kind));
  if (config.backbone && readsEmbeddings) backbones.resolve(config.backbone.name, withoutName(config.backbone), 'model config backbone');
  if (!kinds.has('binary')) decoders.resolve(config.decoder.name, withoutName(config.decoder), 'model config decoder');
  for (const [kind, options] of Object.entries(config.heads)) if (!kinds.has(kind)) heads.resolve(kind, options, `model config heads.${kind}`);
}

function withoutName({ name: _name, ...options }: { name: string } & Record<string, unknown>): Record<string, unknown> {
  return options;
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
  const { schema } = options;
  validateUnusedParts(parsed, schema, 'features' in inputShape);
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

  const encoder = encoders.create(parsed.encoder, { rng: Rng.derive(seed, 'encoder'), level }, 'model config encoder');
  const encoded = encoder(sequence, mask);
  const groupHeads = schema.groups.map((group) =>
    heads.create({ name: group.kind, ...(parsed.heads[group.kind] ?? {}) }, { group, rng: Rng.derive(seed, 'head', group.name), decoder: parsed.decoder }, `model config heads.${group.kind}`),
  );
  const allHeads = (features: tf.SymbolicTensor) => {
    const outputs = groupHeads.map((head) => head(features));
    return outputs.length === 1 ? outputs[0] : (tf.layers.concatenate({ name: 'logits', axis: -1 }).apply(outputs) as tf.SymbolicTensor);
  };
  const logits = level === 'patient' ? allHeads(encoded) : foldApplyUnfold(encoded, mask, allHeads, 'slice_outputs');

  const width = logits.shape[logits.shape.length - 1];
  if (width !== totalOutputWidth(schema)) throw new Error(`internal: the heads emit ${width} logits, the label schema needs ${totalOutputWidth(schema)}`);
  const model = tf.model({ inputs: [input, mask], outputs: logits, name: options.name ?? 'sliceseq' });
  const metadata: ModelMetadata = { config: parsed, labelSchema: schema, inputShape, level };
  model.setUserDefinedMetadata({ [metadataKey]: metadata as unknown as {} });
  return model;
}

/** The metadata `buildModel` stored in a model (also after `loadModel`), or null for other models. */
export function modelMetadata(model: tf.LayersModel): ModelMetadata | null {
  const stored = model.getUserDefinedMetadata() as Record<string, unknown> | undefined;
  return (stored?.[metadataKey] as ModelMetadata | undefined) ?? null;
}
