import * as tf from '@tensorflow/tfjs';
import { readModelArtifacts } from '../io.ts';

interface TopologyNode {
  class_name?: string;
  config?: { name?: string; layers?: TopologyNode[] } | TopologyNode[];
  model_config?: TopologyNode;
}

/** Names of the Conv2D layers of a saved Layers model, in topology order (descending into nested models). */
function convLayerNames(node: TopologyNode): string[] {
  if (node.model_config) return convLayerNames(node.model_config);
  const config = node.config;
  const children = Array.isArray(config) ? config : config?.layers;
  if (children) return children.flatMap(convLayerNames);
  return node.class_name === 'Conv2D' && config && !Array.isArray(config) && config.name ? [config.name] : [];
}

/** The saved weight `layer/suffix`, allowing name scopes in front (`backbone/block1_conv1/kernel`). */
function findWeight(weights: tf.NamedTensorMap, layer: string, suffix: string): tf.Tensor | undefined {
  const exact = `${layer}/${suffix}`;
  if (weights[exact]) return weights[exact];
  const scoped = Object.keys(weights).filter((name) => name.endsWith(`/${exact}`));
  return scoped.length === 1 ? weights[scoped[0]] : undefined;
}

/**
 * A first-layer kernel trained on 3 channels adapted to `channels` inputs: summed for 1 channel, else repeated
 * and rescaled so the expected activation stays the same.
 */
function adaptInputChannels(kernel: tf.Tensor, channels: number): tf.Tensor {
  return tf.tidy(() => {
    if (channels === 1) return tf.sum(kernel, 2, true);
    const repeats = Math.ceil(channels / 3);
    const tiled = tf.tile(kernel, [1, 1, repeats, 1]);
    return tf.mul(tf.slice(tiled, [0, 0, 0, 0], [-1, -1, channels, -1]), 3 / channels);
  });
}

/**
 * Copies the convolution weights of the Layers model saved in `dir` (e.g. Keras' VGG16 converted with
 * tensorflowjs_converter) into `model`'s Conv2D layers, matched by order; every shape must agree (except a
 * 3-channel first layer, adapted to the model's input channels). Other layers (dense heads) are ignored, and so
 * are the source's conv biases where the model's convs have none (batch norm follows them).
 */
export function loadConvWeights(model: tf.LayersModel, dir: string, where: string): void {
  const artifacts = readModelArtifacts(dir);
  const sourceNames = convLayerNames(artifacts.modelTopology as TopologyNode);
  const targets = model.layers.filter((layer) => layer.getClassName() === 'Conv2D');
  if (sourceNames.length !== targets.length) {
    throw new Error(`${where}: ${dir} has ${sourceNames.length} Conv2D layers, the model has ${targets.length}; they are matched by order`);
  }
  const weights = tf.io.decodeWeights(artifacts.weightData!, artifacts.weightSpecs!);
  const adapted: tf.Tensor[] = [];
  try {
    targets.forEach((target, index) => {
      const source = sourceNames[index];
      const expected = target.getWeights().map((weight) => weight.shape);
      const suffixes = expected.length === 2 ? ['kernel', 'bias'] : ['kernel'];
      const values = suffixes.map((suffix) => {
        const value = findWeight(weights, source, suffix);
        if (!value) throw new Error(`${where}: ${dir} has no weight '${source}/${suffix}' for layer ${target.name}`);
        return value;
      });
      if (index === 0 && values[0].shape[2] === 3 && expected[0][2] !== 3) {
        values[0] = adaptInputChannels(values[0], expected[0][2]!);
        adapted.push(values[0]);
      }
      values.forEach((value, i) => {
        if (value.shape.join() !== expected[i].join()) {
          throw new Error(
            `${where}: ${source}/${suffixes[i]} in ${dir} has shape [${value.shape.join(', ')}], ` +
              `layer ${target.name} (conv ${index + 1}) needs [${expected[i].join(', ')}]`,
          );
        }
      });
      target.setWeights(values);
    });
  } finally {
    tf.dispose([...Object.values(weights), ...adapted]);
  }
}
