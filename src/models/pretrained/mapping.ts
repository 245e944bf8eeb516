import * as tf from '@tensorflow/tfjs';
import { describeShape, type SourceLayer, type SourceTensor, type WeightFile } from './source.ts';

/**
 * How a weight file's layers land on a backbone's layers, and the conversion of each tensor: PyTorch kernels
 * [out, in, h, w] become [h, w, in, out]; batch norms take (weight, bias, running_mean, running_var) from
 * PyTorch and (gamma, beta, moving_mean, moving_variance) in order from Keras.
 */
export interface LayerAssignment {
  /** Our layer. */
  layer: tf.layers.Layer;
  source: SourceLayer;
  /** The source tensors in our layer's weight order. */
  tensors: SourceTensor[];
}

export interface WeightPlan {
  file: WeightFile;
  assignments: LayerAssignment[];
  /** The file's tensors no backbone layer takes (a classifier top); PyTorch's `num_batches_tracked` counters are left out. */
  unused: string[];
  /** Our layers with weights that the file does not have: they keep their initial values. */
  kept: string[];
}

/** Matches our layers to the file's: `conv-order` (VGG: the n-th convolution takes the file's n-th) or by name. */
export type LayerMatching = { kind: 'conv-order' } | { kind: 'names'; torchName: (ours: string) => string };

const weighted = (layer: tf.layers.Layer) => layer.getWeights().length > 0;
const isConv = (layer: tf.layers.Layer) => layer.getClassName() === 'Conv2D';
const hasKernel = (source: SourceLayer) => source.tensors.some((t) => t.shape.length === 4);

function pick(source: SourceLayer, key: string, file: WeightFile): SourceTensor {
  const found = source.tensors.find((t) => t.key === key);
  if (!found) throw new Error(`${file.path}: layer '${source.name}' has no '${key}' (it has ${source.tensors.map((t) => t.key).join(', ')})`);
  return found;
}

/** The source tensors for one of our layers, in our weight order. */
function tensorsFor(layer: tf.layers.Layer, source: SourceLayer, file: WeightFile): SourceTensor[] {
  const count = layer.getWeights().length;
  if (file.layout === 'torch') {
    const keys = layer.getClassName() === 'BatchNormalization' ? ['weight', 'bias', 'running_mean', 'running_var'] : ['weight', 'bias'];
    return keys.slice(0, count).map((key) => pick(source, key, file));
  }
  if (source.tensors.length < count) {
    throw new Error(`${file.path}: layer '${source.name}' has ${source.tensors.length} weights, layer ${layer.name} needs ${count}`);
  }
  return source.tensors.slice(0, count);
}

/** Pairs the backbone's weighted layers with the file's layers; structural misfits throw, naming both sides. */
export function planWeights(model: tf.LayersModel, file: WeightFile, matching: LayerMatching, where: string): WeightPlan {
  const targets = model.layers.filter(weighted);
  const pairs: Array<{ layer: tf.layers.Layer; source: SourceLayer }> = [];
  if (matching.kind === 'conv-order') {
    const convs = targets.filter(isConv);
    const sources = file.layers.filter(hasKernel);
    if (sources.length !== convs.length) {
      throw new Error(`${where}: ${file.path} has ${sources.length} Conv2D layers, the model has ${convs.length}; they are matched by order`);
    }
    convs.forEach((layer, i) => pairs.push({ layer, source: sources[i] }));
  } else {
    const byName = new Map(file.layers.map((layer) => [layer.name, layer]));
    for (const layer of targets) {
      const name = file.layout === 'torch' ? matching.torchName(layer.name) : layer.name;
      const source = byName.get(name);
      if (!source) throw new Error(`${where}: ${file.path} has no layer '${name}' for layer ${layer.name}`);
      pairs.push({ layer, source });
    }
  }
  const assignments = pairs.map(({ layer, source }) => ({ layer, source, tensors: tensorsFor(layer, source, file) }));
  const used = new Set(assignments.flatMap((a) => a.tensors.map((t) => t.name)));
  // Batch-norm step counters are bookkeeping, not weights: left out of the report.
  const unused = file.layers.flatMap((layer) => layer.tensors.filter((t) => !used.has(t.name) && t.key !== 'num_batches_tracked').map((t) => t.name));
  const assigned = new Set(assignments.map((a) => a.layer));
  return { file, assignments, unused, kept: targets.filter((layer) => !assigned.has(layer)).map((layer) => layer.name) };
}

/** [out, in, h, w] → [h, w, in, out]: the shape a PyTorch kernel has once transposed. */
function convertedShape(shape: number[], layout: WeightFile['layout']): number[] {
  return layout === 'torch' && shape.length === 4 ? [shape[2], shape[3], shape[1], shape[0]] : shape;
}

/**
 * A first-layer kernel trained on 3 channels adapted to `channels` inputs: summed for 1 channel, else repeated
 * and rescaled so the expected activation stays the same.
 */
function adaptInputChannels(kernel: tf.Tensor, channels: number): tf.Tensor {
  return tf.tidy(() => {
    if (channels === 1) return tf.sum(kernel, 2, true);
    const tiled = tf.tile(kernel, [1, 1, Math.ceil(channels / 3), 1]);
    return tf.mul(tf.slice(tiled, [0, 0, 0, 0], [-1, -1, channels, -1]), 3 / channels);
  });
}

/** The first shape that does not fit, as an error naming the file's tensor, our layer and both shapes. */
export function checkShapes(plan: WeightPlan, where: string): void {
  plan.assignments.forEach(({ layer, tensors }, index) => {
    const expected = layer.getWeights().map((w) => w.shape);
    tensors.forEach((tensor, i) => {
      const shape = convertedShape(tensor.shape, plan.file.layout);
      const firstConvAdapts = index === 0 && shape.length === 4 && shape[2] === 3 && expected[i][2] !== 3;
      const fits = shape.join() === expected[i].join() || (firstConvAdapts && shape.filter((_, d) => d !== 2).join() === expected[i].filter((_, d) => d !== 2).join());
      if (!fits) {
        const as = plan.file.layout === 'torch' && tensor.shape.length === 4 ? ` (${describeShape(shape)} as [h, w, in, out])` : '';
        throw new Error(`${where}: ${tensor.name} in ${plan.file.path} has shape ${describeShape(tensor.shape)}${as}, layer ${layer.name} needs ${describeShape(expected[i])}`);
      }
    });
  });
}

/** Copies the planned weights into the backbone (after `checkShapes`). */
export function applyWeights(plan: WeightPlan, where: string): void {
  checkShapes(plan, where);
  plan.assignments.forEach(({ layer, tensors }, index) => {
    const expected = layer.getWeights().map((w) => w.shape);
    const values = tf.tidy(() =>
      tensors.map((tensor, i) => {
        let value = tf.tensor(tensor.read(), tensor.shape);
        if (plan.file.layout === 'torch' && tensor.shape.length === 4) value = tf.transpose(value, [2, 3, 1, 0]);
        if (index === 0 && value.rank === 4 && value.shape[2] === 3 && expected[i][2] !== 3) value = adaptInputChannels(value, expected[i][2]!);
        return value;
      }),
    );
    try {
      layer.setWeights(values);
    } finally {
      tf.dispose(values);
    }
  });
}
