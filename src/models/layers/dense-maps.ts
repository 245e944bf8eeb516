import * as tf from '@tensorflow/tfjs';
import { OptionsLayer, type LayerNaming } from './options-layer.ts';

/**
 * Layers of the dense (per-pixel) models. Both are plain reshapes and broadcasts, so their gradients exist on
 * every backend (tfjs's UpSampling2D needs ResizeNearestNeighborGrad, which the wasm backend lacks).
 */

export interface UpsampleOptions {
  factor: number;
}

/** Nearest-neighbour upsampling of [n, H, W, C] by an integer factor: each pixel becomes a factor × factor block. */
export class UpsampleNearest extends OptionsLayer<UpsampleOptions> {
  static readonly className = 'SliceseqUpsampleNearest';

  constructor(args: UpsampleOptions & LayerNaming) {
    super(args, ['factor']);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [n, h, w, c] = inputShape as tf.Shape;
    const f = this.options.factor;
    return [n, h == null ? null : h * f, w == null ? null : w * f, c];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const [n, h, w, c] = x.shape;
      const f = this.options.factor;
      const blocks = tf.mul(x.reshape([n, h, 1, w, 1, c]), tf.ones([1, 1, f, 1, f, 1]));
      return blocks.reshape([n, h * f, w * f, c]);
    });
  }
}

export interface SliceNeighboursOptions {
  /** Neighbours on each side: 1 gives [previous, slice, next] as channels (2.5D input). */
  context: number;
}

/**
 * 2.5D input: [batch, slices, H, W, C] → [batch, slices, H, W, C·(2·context+1)], each slice with its neighbours'
 * channels beside its own (previous first). Beyond the first and last slice the neighbour is zeros, as is a
 * padded slice (the loader pads with zeros).
 */
export class SliceNeighbours extends OptionsLayer<SliceNeighboursOptions> {
  static readonly className = 'SliceseqSliceNeighbours';

  constructor(args: SliceNeighboursOptions & LayerNaming) {
    super(args, ['context']);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [b, s, h, w, c] = inputShape as tf.Shape;
    return [b, s, h, w, c == null ? null : c * (2 * this.options.context + 1)];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const k = this.options.context;
      if (k === 0) return x.clone();
      const [b, s, h, w, c] = x.shape;
      const zeros = tf.zeros([b, k, h, w, c]);
      const padded = tf.concat([zeros, x, zeros], 1);
      const shifted = Array.from({ length: 2 * k + 1 }, (_, offset) => tf.slice(padded, [0, offset, 0, 0, 0], [b, s, h, w, c]));
      return tf.concat(shifted, 4);
    });
  }
}

tf.serialization.registerClass(UpsampleNearest);
tf.serialization.registerClass(SliceNeighbours);
