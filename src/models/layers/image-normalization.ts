import * as tf from '@tensorflow/tfjs';
import { OptionsLayer, type LayerNaming } from './options-layer.ts';

export interface ImageNormalizationOptions {
  /** Multiplies the input first (255 turns sliceseq's 0..1 images into the 0..255 pixels Keras' VGG16 saw). */
  scale: number;
  /** Reverse the channel order (RGB → BGR) after scaling. */
  reverseChannels: boolean;
  /** Per channel, in the order after any reversal: y = (x · scale − mean) / std. */
  mean: number[];
  std: number[];
}

/** The input normalisation pretrained weights were trained with, as the backbone's first layer. */
export class ImageNormalization extends OptionsLayer<ImageNormalizationOptions> {
  static readonly className = 'SliceseqImageNormalization';

  constructor(args: ImageNormalizationOptions & LayerNaming) {
    super(args, ['scale', 'reverseChannels', 'mean', 'std']);
    if (args.mean.length !== args.std.length || args.std.some((s) => !(s > 0))) {
      throw new Error(`${this.name}: mean and std need one value per channel and std > 0, got mean [${args.mean}], std [${args.std}]`);
    }
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const input = Array.isArray(inputs) ? inputs[0] : inputs;
    return tf.tidy(() => {
      const channels = input.shape[input.rank - 1]!;
      if (channels !== this.options.mean.length) {
        throw new Error(`${this.name}: input has ${channels} channels, the normalisation ${this.options.mean.length}`);
      }
      const scaled = tf.mul(input, this.options.scale);
      const ordered = this.options.reverseChannels ? tf.reverse(scaled, -1) : scaled;
      return tf.div(tf.sub(ordered, tf.tensor1d(this.options.mean)), tf.tensor1d(this.options.std));
    });
  }
}

tf.serialization.registerClass(ImageNormalization);
