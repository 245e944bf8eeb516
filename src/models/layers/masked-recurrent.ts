import * as tf from '@tensorflow/tfjs';
import { binaryMask } from './masks.ts';
import { OptionsLayer, type LayerNaming } from './options-layer.ts';
import { addDirectionCells, projectInputs, recurrentOptionKeys, runDirection, withHiddenSize, zeroState, type AddWeight, type CellVariables, type RecurrentOptions } from './recurrent-cells.ts';

export interface MaskedRecurrentOptions extends RecurrentOptions {
  /** Outputs one vector per step [batch, steps, directions·hidden] instead of the final state [batch, directions·hidden]. */
  returnSequences: boolean;
}

export type MaskedRecurrentArgs = MaskedRecurrentOptions & LayerNaming;

/**
 * An LSTM/GRU over slices, inputs [sequence [batch, steps, features], mask [batch, steps]]. Padded steps keep the
 * state and output zeros, so padding never changes a real step's output or the final state; the backward direction
 * therefore starts at each sequence's last real slice. The final state is the forward state after the last real
 * slice joined with the backward state after the first.
 */
export class MaskedRecurrent extends OptionsLayer<MaskedRecurrentOptions> {
  static readonly className = 'SliceseqMaskedRecurrent';
  private cells: CellVariables[] = [];

  constructor(args: MaskedRecurrentArgs) {
    super(withHiddenSize(args), [...recurrentOptionKeys, 'returnSequences']);
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const [sequenceShape] = inputShape as tf.Shape[];
    const features = sequenceShape[2];
    if (features == null) throw new Error(`${this.name}: the feature size of the sequence must be known, got shape [${sequenceShape.join(', ')}]`);
    const add: AddWeight = (name, shape, initializer) => this.addWeight(name, shape, 'float32', initializer);
    this.cells = addDirectionCells(add, this.options, features);
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [[batch, steps]] = inputShape as tf.Shape[];
    const width = this.options.hidden * (this.options.bidirectional ? 2 : 1);
    return this.options.returnSequences ? [batch, steps, width] : [batch, width];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const [sequence, mask] = inputs as tf.Tensor[];
      const [batch, steps, features] = sequence.shape;
      const real = tf.unstack(binaryMask(mask).reshape([batch, steps, 1]), 1) as tf.Tensor[];
      const rows = sequence.reshape([batch * steps, features]) as tf.Tensor2D;
      const runs = this.cells.map((cell, direction) => {
        const projected = tf.unstack(projectInputs(cell, rows).reshape([batch, steps, -1]), 1);
        const initial = zeroState(this.options.cell, tf.zeros([batch, this.options.hidden]));
        return runDirection(this.options.cell, cell, projected, initial, { reverse: direction === 1, real });
      });
      if (!this.options.returnSequences) return tf.concat(runs.map((run) => run.final.h), 1);
      return tf.concat(runs.map((run) => tf.stack(run.outputs, 1)), 2);
    });
  }
}

tf.serialization.registerClass(MaskedRecurrent);
