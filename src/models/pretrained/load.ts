import * as tf from '@tensorflow/tfjs';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ImageNormalization } from '../layers/image-normalization.ts';
import { applyWeights, planWeights, type LayerMatching, type WeightPlan } from './mapping.ts';
import { normalizationOptions, normalizations, type Normalization } from './normalization.ts';
import { openWeights, weightFormatOf, weightsOptionSchema, weightsPath, type WeightsOption } from './open.ts';
import type { WeightFile, WeightFormat } from './source.ts';
import { convertedMetadataKey, type ConvertedMetadata } from './tfjs-folder.ts';

/** The options a backbone with pretrained weights accepts. */
export const pretrainedOptions = {
  /**
   * A tfjs Layers folder, a Keras `.h5`/`.keras` file or a PyTorch `.safetensors` state dict; `{ path, format }`
   * names the format where the extension does not.
   */
  weights: weightsOptionSchema.optional(),
  /** The input normalisation the weights were trained with; `auto`: Keras files 'caffe', PyTorch 'imagenet'. */
  normalize: z.enum(['auto', ...normalizations]).default('auto'),
};

export interface PretrainedConfig {
  weights?: WeightsOption;
  normalize: 'auto' | Normalization;
}

/** What a run records about its backbone's weights. */
export interface PretrainedRecord {
  path: string;
  format: WeightFormat;
  /** The file's size (a folder's: all its files). */
  bytes: number;
  normalize: Normalization;
}

/** The normalisation `sliceseq weights convert` wrote into a tfjs folder's model.json, if any. */
function recordedNormalization(dir: string): Normalization | undefined {
  const modelJson = join(dir, 'model.json');
  if (!existsSync(modelJson)) return undefined;
  const parsed = JSON.parse(readFileSync(modelJson, 'utf8')) as { userDefinedMetadata?: Record<string, ConvertedMetadata> };
  const recorded = parsed.userDefinedMetadata?.[convertedMetadataKey]?.normalize;
  return (normalizations as readonly string[]).includes(recorded ?? '') ? (recorded as Normalization) : undefined;
}

/**
 * `auto` resolved: no weights, or a tfjs folder not written by `sliceseq weights convert`: none; Keras files:
 * 'caffe' (what keras.applications' VGG16 and ResNet50 were trained on); PyTorch state dicts: 'imagenet'.
 */
export function resolveNormalization(config: PretrainedConfig): Normalization {
  if (config.normalize !== 'auto') return config.normalize;
  if (!config.weights) return 'none';
  const format = weightFormatOf(config.weights);
  if (format === 'tfjs') return recordedNormalization(weightsPath(config.weights)) ?? 'none';
  return format === 'safetensors' ? 'imagenet' : 'caffe';
}

/** The backbone's input, normalised for its weights: the image input itself when there is nothing to do. */
export function normalizedInput(input: tf.SymbolicTensor, normalize: Normalization): tf.SymbolicTensor {
  if (normalize === 'none') return input;
  const channels = input.shape[input.shape.length - 1] as number;
  return new ImageNormalization({ name: 'input_norm', ...normalizationOptions(normalize, channels) }).apply(input) as tf.SymbolicTensor;
}

/** Reads the weights the config names into a built backbone; returns the plan (what went where). */
export function loadPretrained(model: tf.LayersModel, weights: WeightsOption, matching: LayerMatching, where: string): WeightPlan {
  const file: WeightFile = openWeights(weights);
  const plan = planWeights(model, file, matching, where);
  applyWeights(plan, where);
  return plan;
}

/** The record a run keeps of a backbone config's weights (undefined without weights). */
export function pretrainedRecord(config: Partial<PretrainedConfig>): PretrainedRecord | undefined {
  if (!config.weights) return undefined;
  const path = weightsPath(config.weights);
  const format = weightFormatOf(config.weights);
  const files = format === 'tfjs' ? readdirSync(path).map((name) => join(path, name)) : [path];
  const bytes = files.reduce((sum, file) => sum + statSync(file).size, 0);
  return { path, format, bytes, normalize: resolveNormalization({ weights: config.weights, normalize: config.normalize ?? 'auto' }) };
}
