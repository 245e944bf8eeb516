import * as tf from '@tensorflow/tfjs';
import { Rng, type RngState } from '../../core/rng.ts';
import { OptionsLayer, type LayerNaming } from './options-layer.ts';

export interface SeededDropoutOptions {
  rate: number;
  seed: number;
}

/**
 * Dropout whose masks come from a seeded stream: a new mask every training call, the same sequence of masks on
 * every run with the same seed. (tf.layers.dropout with a seed draws the identical mask on every call.)
 */
export class SeededDropout extends OptionsLayer<SeededDropoutOptions> {
  static readonly className = 'SliceseqSeededDropout';
  private readonly rng: Rng;

  constructor(args: SeededDropoutOptions & LayerNaming) {
    super(args, ['rate', 'seed']);
    if (!(args.rate >= 0 && args.rate < 1)) throw new Error(`${this.name}: dropout rate must be in [0, 1), got ${args.rate}`);
    this.rng = new Rng(args.seed);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    const input = Array.isArray(inputs) ? inputs[0] : inputs;
    if (kwargs.training !== true || this.options.rate === 0) return input.clone();
    return tf.dropout(input, this.options.rate, undefined, this.rng.seed());
  }

  /** Where the mask stream stands: checkpoints save it so a resumed run draws the masks the original would. */
  rngState(): RngState {
    return this.rng.state();
  }

  setRngState(state: RngState): void {
    this.rng.setState(state);
  }
}

tf.serialization.registerClass(SeededDropout);
