import * as tf from '@tensorflow/tfjs';
import { readModelArtifacts } from '../io.ts';
import type { SourceLayer, WeightFile } from './source.ts';

interface TopologyNode {
  class_name?: string;
  config?: { name?: string; layers?: TopologyNode[] } | TopologyNode[];
  model_config?: TopologyNode;
}

/** Names of a saved Layers model's layers in topology order, descending into nested models. */
function topologyOrder(node: TopologyNode): string[] {
  if (node.model_config) return topologyOrder(node.model_config);
  const config = node.config;
  const children = Array.isArray(config) ? config : config?.layers;
  if (children) return children.flatMap(topologyOrder);
  return config && !Array.isArray(config) && config.name ? [config.name] : [];
}

/** The key under which `sliceseq weights convert` records where a folder's weights came from. */
export const convertedMetadataKey = 'sliceseqWeights';

export interface ConvertedMetadata {
  source: string;
  format: string;
  backbone: string;
  normalize: string;
}

/**
 * A tfjs Layers model folder (model.json + weight shards: `sliceseq weights convert`'s output, or a Keras model
 * converted by tensorflowjs_converter). Weights `scope/layer/kernel` belong to layer `layer`; layers come in
 * topology order.
 */
export function readTfjsFolder(dir: string): WeightFile {
  const artifacts = readModelArtifacts(dir);
  const order = topologyOrder(artifacts.modelTopology as TopologyNode);
  const decoded = tf.io.decodeWeights(artifacts.weightData!, artifacts.weightSpecs!);
  const byLayer = new Map<string, SourceLayer>();
  try {
    for (const spec of artifacts.weightSpecs ?? []) {
      const parts = spec.name.split('/');
      const layerName = parts.length > 1 ? parts[parts.length - 2] : spec.name;
      const values = decoded[spec.name].dataSync() as Float32Array;
      const layer = byLayer.get(layerName) ?? { name: layerName, tensors: [] };
      layer.tensors.push({ name: spec.name, key: parts[parts.length - 1], shape: [...spec.shape], read: () => Float32Array.from(values) });
      byLayer.set(layerName, layer);
    }
  } finally {
    tf.dispose(Object.values(decoded));
  }
  const rank = (name: string) => {
    const index = order.indexOf(name);
    return index < 0 ? order.length : index;
  };
  const layers = [...byLayer.values()].sort((a, b) => rank(a.name) - rank(b.name));
  const recorded = (artifacts.userDefinedMetadata as Record<string, ConvertedMetadata> | undefined)?.[convertedMetadataKey];
  return { path: dir, format: 'tfjs', layout: 'keras', layers, ...(recorded ? { normalization: recorded.normalize } : {}) };
}
