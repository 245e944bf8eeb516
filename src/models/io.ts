import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic.ts';
import { readJson } from '../core/json.ts';
import './layers/index.ts';

/**
 * Saving and loading a tf.LayersModel to a directory (model.json + weights.bin) on every backend: tfjs's own
 * `file://` handler only exists with tfjs-node, so this is the handler the wasm and cpu backends use too.
 * Importing this module registers sliceseq's custom layers, which loading needs.
 */
export const modelFileName = 'model.json';
export const weightsFileName = 'weights.bin';

function toArrayBuffer(weightData: tf.io.WeightData): ArrayBuffer {
  return new tf.io.CompositeArrayBuffer(weightData).slice();
}

function writeArtifacts(dir: string, artifacts: tf.io.ModelArtifacts): tf.io.SaveResult {
  if (artifacts.modelTopology instanceof ArrayBuffer || artifacts.modelTopology == null) {
    throw new Error(`saving to ${dir}: only Layers models (JSON topology) are supported`);
  }
  const weights = artifacts.weightData ? new Uint8Array(toArrayBuffer(artifacts.weightData)) : new Uint8Array(0);
  const modelJson: tf.io.ModelJSON = {
    modelTopology: artifacts.modelTopology,
    format: artifacts.format ?? 'layers-model',
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy ?? null,
    weightsManifest: [{ paths: [weightsFileName], weights: artifacts.weightSpecs ?? [] }],
    ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
    ...(artifacts.userDefinedMetadata ? { userDefinedMetadata: artifacts.userDefinedMetadata } : {}),
  };
  // Weights first: model.json only ever names a complete weights file.
  writeFileAtomic(join(dir, weightsFileName), weights);
  writeFileAtomic(join(dir, modelFileName), `${JSON.stringify(modelJson)}\n`);
  return {
    modelArtifactsInfo: {
      dateSaved: new Date(),
      modelTopologyType: 'JSON',
      modelTopologyBytes: JSON.stringify(artifacts.modelTopology).length,
      weightSpecsBytes: JSON.stringify(artifacts.weightSpecs ?? []).length,
      weightDataBytes: weights.byteLength,
    },
  };
}

/** Reads a model directory synchronously (also a tfjs-converted Keras model with several weight shards). */
export function readModelArtifacts(dir: string): tf.io.ModelArtifacts {
  const modelPath = join(dir, modelFileName);
  if (!existsSync(modelPath)) throw new Error(`no model at ${dir}: ${modelFileName} is missing`);
  const modelJson = readJson(modelPath) as tf.io.ModelJSON;
  if (modelJson.modelTopology == null || !Array.isArray(modelJson.weightsManifest)) {
    throw new Error(`${modelPath}: not a tfjs model.json (needs modelTopology and weightsManifest)`);
  }
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: ArrayBuffer[] = [];
  for (const group of modelJson.weightsManifest) {
    specs.push(...group.weights);
    for (const path of group.paths) {
      const shardPath = join(dir, path);
      if (!existsSync(shardPath)) throw new Error(`${modelPath} names weights file '${path}', which is missing`);
      const bytes = readFileSync(shardPath);
      buffers.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    }
  }
  const weightData = tf.io.CompositeArrayBuffer.join(buffers);
  const expected = specs.reduce((sum, spec) => sum + spec.shape.reduce((n, d) => n * d, 1) * bytesPerElement(spec), 0);
  if (weightData.byteLength !== expected) {
    throw new Error(`${dir}: the weights files hold ${weightData.byteLength} bytes but ${modelFileName} describes ${expected}`);
  }
  return tf.io.getModelArtifactsForJSONSync(modelJson, specs, weightData);
}

function bytesPerElement(spec: tf.io.WeightsManifestEntry): number {
  if (spec.quantization) return spec.quantization.dtype === 'float16' ? 2 : spec.quantization.dtype === 'uint16' ? 2 : 1;
  return spec.dtype === 'bool' ? 1 : 4;
}

/** An IOHandler for a directory on disk, usable with `model.save` and `tf.loadLayersModel` on any backend. */
export function diskIOHandler(dir: string): tf.io.IOHandler {
  return {
    save: async (artifacts) => writeArtifacts(dir, artifacts),
    load: async () => readModelArtifacts(dir),
  };
}

export async function saveModel(model: tf.LayersModel, dir: string): Promise<void> {
  await model.save(diskIOHandler(dir));
}

/**
 * Loads a model saved by `saveModel`. tfjs builds top-level layers with zero initializers when weights follow,
 * but not the layers of a nested model such as the backbone: their initializers are set to zeros here, since
 * the saved weights replace them (VGG16's 15M weights load in about a quarter of the time).
 */
export async function loadModel(dir: string): Promise<tf.LayersModel> {
  const artifacts = readModelArtifacts(dir);
  return tf.loadLayersModel({ load: async () => ({ ...artifacts, modelTopology: withZeroNestedInitializers(artifacts.modelTopology) }) });
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type LayerJson = { class_name: string; config: Json };
type ModelJson = { config?: { layers?: LayerJson[] } };
const nestedModelClasses = new Set(['Model', 'Functional', 'Sequential']);

/** A copy of `value` with every `*_initializer` replaced by zeros. */
function zeroInitializers(value: Json): Json {
  if (Array.isArray(value)) return value.map(zeroInitializers);
  if (!value || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [key, key.endsWith('_initializer') && item && typeof item === 'object' ? { class_name: 'Zeros', config: {} } : zeroInitializers(item)]),
  );
}

function withZeroNestedInitializers(topology: tf.io.ModelArtifacts['modelTopology']): tf.io.ModelArtifacts['modelTopology'] {
  const root = topology as (ModelJson & { model_config?: ModelJson }) | undefined;
  const model = root?.model_config ?? root;
  const layers = model?.config?.layers;
  if (!model || !layers) return topology;
  const zeroed = layers.map((layer) => (nestedModelClasses.has(layer.class_name) ? { ...layer, config: zeroInitializers(layer.config) } : layer));
  const withLayers = { ...model, config: { ...model.config, layers: zeroed } };
  return (root!.model_config ? { ...root, model_config: withLayers } : withLayers) as tf.io.ModelArtifacts['modelTopology'];
}
