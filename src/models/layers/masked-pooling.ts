import * as tf from '@tensorflow/tfjs';
import { binaryMask } from './masks.ts';
import { OptionsLayer, type LayerNaming } from './options-layer.ts';

export const poolingModes = ['mean', 'max'] as const;
export type PoolingMode = (typeof poolingModes)[number];

export interface MaskedPoolingOptions {
  mode: PoolingMode;
}

/**
 * [sequence [batch, slices, features], mask [batch, slices]] → [batch, features]: the mean or max over real
 * slices only. A patient without real slices pools to zeros.
 */
export class MaskedPooling extends OptionsLayer<MaskedPoolingOptions> {
  static readonly className = 'SliceseqMaskedPooling';

  constructor(args: MaskedPoolingOptions & LayerNaming) {
    super(args, ['mode']);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [[batch, , features]] = inputShape as tf.Shape[];
    return [batch, features];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const [sequence, mask] = inputs as tf.Tensor[];
      const real = binaryMask(mask).expandDims(2);
      const count = tf.sum(real, 1);
      if (this.options.mode === 'mean') return tf.div(tf.sum(tf.mul(sequence, real), 1), tf.maximum(count, 1));
      // Padded slices are pushed far below any real value before the max, then empty patients are zeroed.
      const lowered = tf.add(sequence, tf.mul(tf.sub(real, 1), 1e9));
      return tf.mul(tf.max(lowered, 1), tf.minimum(count, 1));
    });
  }
}

tf.serialization.registerClass(MaskedPooling);
