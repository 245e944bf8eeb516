import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../core/rng.ts';
import { heNormal } from '../layers/initializers.ts';

/** Building blocks shared by the backbones; every initializer is seeded from the backbone's Rng. */
export function conv2d(
  name: string,
  filters: number,
  kernelSize: number,
  rng: Rng,
  options: { strides?: number; useBias?: boolean; activation?: 'relu' | 'linear'; padding?: 'same' | 'valid' } = {},
): tf.layers.Layer {
  return tf.layers.conv2d({
    name,
    filters,
    kernelSize,
    strides: options.strides ?? 1,
    padding: options.padding ?? 'same',
    useBias: options.useBias ?? true,
    activation: options.activation ?? 'linear',
    kernelInitializer: heNormal(rng.seed()),
  });
}

export function batchNorm(name: string): tf.layers.Layer {
  return tf.layers.batchNormalization({ name, momentum: 0.9, epsilon: 1e-5 });
}

/** `pad` zeros on every side (PyTorch's symmetric `padding=`, where 'same' would pad a strided layer's end more). */
export function zeroPad(name: string, pad: number): tf.layers.Layer {
  return tf.layers.zeroPadding2d({ name, padding: pad });
}

export function relu(name: string): tf.layers.Layer {
  return tf.layers.reLU({ name });
}

export function apply(layer: tf.layers.Layer, input: tf.SymbolicTensor | tf.SymbolicTensor[]): tf.SymbolicTensor {
  return layer.apply(input) as tf.SymbolicTensor;
}

export interface VggStage {
  filters: number;
  convs: number;
}

/**
 * VGG stages: `convs` 3×3 convolutions (+ batch norm) + ReLU, then a 2×2 max pool, per stage. Layers are named as
 * in Keras' VGG16 (`block1_conv1`, `block1_pool`), and pools use 'same' padding so tiny inputs never shrink to 0.
 */
export function vggStages(input: tf.SymbolicTensor, stages: VggStage[], options: { rng: Rng; batchNorm: boolean }): tf.SymbolicTensor {
  let x = input;
  stages.forEach(({ filters, convs }, s) => {
    for (let c = 1; c <= convs; c++) {
      const name = `block${s + 1}_conv${c}`;
      if (options.batchNorm) {
        x = apply(conv2d(name, filters, 3, options.rng, { useBias: false }), x);
        x = apply(batchNorm(`block${s + 1}_bn${c}`), x);
        x = apply(relu(`block${s + 1}_relu${c}`), x);
      } else {
        x = apply(conv2d(name, filters, 3, options.rng, { activation: 'relu' }), x);
      }
    }
    x = apply(tf.layers.maxPooling2d({ name: `block${s + 1}_pool`, poolSize: 2, strides: 2, padding: 'same' }), x);
  });
  return x;
}
