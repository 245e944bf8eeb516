import * as tf from '@tensorflow/tfjs';
import { blockLstm, reverseSequence } from '../../backend/block-lstm.ts';
import { dense } from '../../backend/dense.ts';
import { gruSequence } from '../../backend/gru.ts';
import { fusedActive } from '../../backend/tf-ops.ts';
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
      if (fusedActive() && this.options.cell === 'gru') return this.gruCall(sequence, mask);
      if (fusedActive() && this.options.cell === 'lstm') {
        const lengths = prefixLengths(mask);
        if (lengths) return this.blockLstmCall(sequence, lengths);
      }
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

  /** The GRU as one sequence kernel per direction (native backend), for any mask. */
  private gruCall(sequence: tf.Tensor, mask: tf.Tensor): tf.Tensor {
    const [batch, steps] = sequence.shape;
    const flags = stepMajorFlags(mask);
    const real = flags.every((flag) => flag === 1) ? null : flags;
    const h0 = tf.zeros([batch, this.options.hidden]);
    const runs = this.cells.map((cell, direction) => {
      // The projected inputs, step-major [steps, batch, gates·hidden].
      const x = dense(sequence, cell.kernel!.read() as tf.Tensor2D, cell.bias.read() as tf.Tensor1D, { swap: true });
      return gruSequence(x, h0, cell.recurrentKernel.read(), cell.recurrentBias!.read(), { reverse: direction === 1, real });
    });
    if (!this.options.returnSequences) return runs.length === 1 ? runs[0].final : tf.concat(runs.map((run) => run.final), 1);
    const states = runs.length === 1 ? runs[0].states : tf.concat(runs.map((run) => run.states), 2);
    // Padded steps output zeros (their state is the one carried over).
    const outputs = real ? tf.mul(states, tf.tensor3d(real, [steps, batch, 1])) : states;
    return tf.transpose(outputs, [1, 0, 2]);
  }

  /**
   * The LSTM as one BlockLSTM kernel per direction (native backend), for masks whose real slices come first in
   * every row (`lengths`). The backward direction runs forward over each row's real slices reversed in place
   * (ReverseSequence), and its outputs are reversed back. Steps past a row's length run on padding, but their
   * outputs are zeroed and nothing real comes after them; the final states are read at the last real step.
   */
  private blockLstmCall(sequence: tf.Tensor, lengths: Int32Array): tf.Tensor {
    const [batch, steps] = sequence.shape;
    const { hidden } = this.options;
    const x = tf.transpose(sequence, [1, 0, 2]);
    const lengthTensor = tf.tensor1d(lengths, 'int32');
    const axes = { seqAxis: 0, batchAxis: 1 };
    const zeros = tf.zeros([batch, hidden]);
    const runs = this.cells.map((cell, direction) => {
      const w = tf.concat([cell.kernel!.read(), cell.recurrentKernel.read()], 0);
      if (direction === 0) return blockLstm(x, zeros, zeros, w, cell.bias.read());
      return reverseSequence(blockLstm(reverseSequence(x, lengthTensor, axes), zeros, zeros, w, cell.bias.read()), lengthTensor, axes);
    });
    if (!this.options.returnSequences) {
      // Forward: the state after the last real step; backward: after its last step, slice 0 (none without real slices).
      const finals = runs.map((h, direction) => tf.sum(tf.mul(h, stepSelector(lengths, steps, direction === 0 ? 'last' : 'first')), 0));
      return finals.length === 1 ? finals[0] : tf.concat(finals, 1);
    }
    const outputs = runs.length === 1 ? runs[0] : tf.concat(runs, 2);
    return tf.transpose(tf.mul(outputs, realSteps(lengths, steps)), [1, 0, 2]);
  }
}

/** The binary mask, step-major (index t·batch + row). */
function stepMajorFlags(mask: tf.Tensor): number[] {
  const [batch, steps] = mask.shape;
  const values = mask.dataSync();
  return Array.from({ length: steps * batch }, (_, i) => (values[(i % batch) * steps + Math.floor(i / batch)] > 0.5 ? 1 : 0));
}

/** Real slices per row when every row's real slices come first (the loaders' padding); null otherwise. */
function prefixLengths(mask: tf.Tensor): Int32Array | null {
  const [batch, steps] = mask.shape;
  const values = mask.dataSync();
  const lengths = new Int32Array(batch);
  for (let row = 0; row < batch; row++) {
    let length = 0;
    while (length < steps && values[row * steps + length] > 0.5) length++;
    for (let t = length; t < steps; t++) if (values[row * steps + t] > 0.5) return null;
    lengths[row] = length;
  }
  return lengths;
}

/** [steps, batch, 1]: 1 at each row's last (or first) real step; rows without real steps are all 0. */
function stepSelector(lengths: Int32Array, steps: number, which: 'first' | 'last'): tf.Tensor {
  const batch = lengths.length;
  const values = new Float32Array(steps * batch);
  lengths.forEach((length, row) => {
    if (length > 0) values[(which === 'last' ? length - 1 : 0) * batch + row] = 1;
  });
  return tf.tensor3d(values, [steps, batch, 1]);
}

/** [steps, batch, 1]: 1 where the step is real. */
function realSteps(lengths: Int32Array, steps: number): tf.Tensor {
  const batch = lengths.length;
  const values = new Float32Array(steps * batch);
  lengths.forEach((length, row) => {
    for (let t = 0; t < length; t++) values[t * batch + row] = 1;
  });
  return tf.tensor3d(values, [steps, batch, 1]);
}

tf.serialization.registerClass(MaskedRecurrent);
