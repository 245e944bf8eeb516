import * as tf from '@tensorflow/tfjs';
import { gatherRows as gatherRowsOp, gatherRowsReady } from '../../backend/gather-rows.ts';
import { binaryMask, realPositions } from './masks.ts';
import { OptionsLayer, type LayerNaming } from './options-layer.ts';

/**
 * Folding slices into the batch: [batch, slices, ...rest] → [batch·slices, ...rest], so the per-slice network runs
 * once over all slices (instead of tf.layers.timeDistributed's one call per slice). With `compact`, only the real
 * slices are kept: padded slices cost no compute and never enter batch-norm statistics. Unfolding puts rows back
 * at their slices and zeros at padded ones.
 *
 * The row selections are gathers with hand-written gradients (each is the other's transpose), because tfjs's
 * gather gradient needs UnsortedSegmentSum, which the wasm backend lacks. On the native CPU package each is one TF
 * op of ours (src/backend/gather-rows.ts) that also folds or unfolds the [batch, slices] axes.
 */
function gatherRows(source: tf.Tensor, rows: Int32Array): tf.Tensor {
  return tf.tidy(() => tf.gather(source, tf.tensor1d(rows, 'int32')));
}

/** Gathers rows of `source`, where the index `source.shape[0]` selects a row of zeros. */
function gatherRowsOrZeros(source: tf.Tensor, rows: Int32Array): tf.Tensor {
  return tf.tidy(() => {
    const padded = tf.concat([source, tf.zeros([1, ...source.shape.slice(1)])], 0);
    return tf.gather(padded, tf.tensor1d(rows, 'int32'));
  });
}

/** For each of `total` positions: its index among `positions`, or `absent` (default positions.length, the zero row). */
function inverseOf(positions: Int32Array, total: number, absent = positions.length): Int32Array {
  const inverse = new Int32Array(total).fill(absent);
  positions.forEach((position, index) => {
    inverse[position] = index;
  });
  return inverse;
}

type RowMap = (input: tf.Tensor) => tf.Tensor;

function withGradient(forward: RowMap, backward: RowMap): RowMap {
  const op = tf.customGrad((...args) => ({ value: forward(args[0] as tf.Tensor), gradFunc: (dy: tf.Tensor) => backward(dy) }));
  return (input) => op(input);
}

/** Keeps the rows at `positions` of [total, ...rest]. */
export function compactRows(rows: tf.Tensor, positions: Int32Array): tf.Tensor {
  const inverse = inverseOf(positions, rows.shape[0]);
  return withGradient((x) => gatherRows(x, positions), (dy) => gatherRowsOrZeros(dy, inverse))(rows);
}

/** Places the rows of [positions.length, ...rest] at `positions` of [total, ...rest], zeros elsewhere. */
export function expandRows(rows: tf.Tensor, positions: Int32Array, total: number): tf.Tensor {
  const inverse = inverseOf(positions, total);
  return withGradient((x) => gatherRowsOrZeros(x, inverse), (dy) => gatherRows(dy, positions))(rows);
}

/** The rows at `positions` (indices into batch·slices) of [batch, slices, ...rest]: [positions.length, ...rest]. */
export function foldRows(sequence: tf.Tensor, positions: Int32Array): tf.Tensor {
  const [batch, slices, ...rest] = sequence.shape;
  if (!gatherRowsReady()) return compactRows(sequence.reshape([batch * slices, ...rest]), positions);
  const inverse = inverseOf(positions, batch * slices, -1);
  return withGradient(
    (x) => gatherRowsOp(x, positions, [positions.length], 2),
    (dy) => gatherRowsOp(dy, inverse, [batch, slices], 1),
  )(sequence);
}

/** Rows [positions.length, ...rest] placed at `positions` of [batch, slices, ...rest], zeros elsewhere. */
export function unfoldRows(rows: tf.Tensor, positions: Int32Array, batch: number, slices: number): tf.Tensor {
  if (!gatherRowsReady()) return expandRows(rows, positions, batch * slices).reshape([batch, slices, ...rows.shape.slice(1)]);
  const inverse = inverseOf(positions, batch * slices, -1);
  return withGradient(
    (x) => gatherRowsOp(x, inverse, [batch, slices], 1),
    (dy) => gatherRowsOp(dy, positions, [positions.length], 2),
  )(rows);
}

export interface SliceFoldingOptions {
  /** Drop padded slices when folding (and restore them as zeros when unfolding). */
  compact: boolean;
}

function maskPositions(layer: string, mask: tf.Tensor): Int32Array {
  const positions = realPositions(mask);
  if (positions.length === 0) throw new Error(`${layer}: every slice in the batch is padding (the mask is all zero)`);
  return positions;
}

/** [sequence [batch, slices, ...rest], mask [batch, slices]] → [rows, ...rest]. */
export class FoldSlices extends OptionsLayer<SliceFoldingOptions> {
  static readonly className = 'SliceseqFoldSlices';

  constructor(args: SliceFoldingOptions & LayerNaming) {
    super(args, ['compact']);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [[batch, slices, ...rest]] = inputShape as tf.Shape[];
    const rows = !this.options.compact && batch != null && slices != null ? batch * slices : null;
    return [rows, ...rest];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const [sequence, mask] = inputs as tf.Tensor[];
      const [batch, slices, ...rest] = sequence.shape;
      const positions = this.options.compact ? maskPositions(this.name, mask) : null;
      return positions && positions.length < batch * slices ? foldRows(sequence, positions) : sequence.reshape([batch * slices, ...rest]);
    });
  }
}

/** [rows [rows, ...rest], mask [batch, slices]] → [batch, slices, ...rest], zeros at padded slices. */
export class UnfoldSlices extends OptionsLayer<SliceFoldingOptions> {
  static readonly className = 'SliceseqUnfoldSlices';

  constructor(args: SliceFoldingOptions & LayerNaming) {
    super(args, ['compact']);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [[, ...rest], [batch, slices]] = inputShape as tf.Shape[];
    return [batch, slices, ...rest];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const [rows, mask] = inputs as tf.Tensor[];
      const [batch, slices] = mask.shape;
      const rest = rows.shape.slice(1);
      if (!this.options.compact) {
        const real = binaryMask(mask).reshape([batch, slices, ...rest.map(() => 1)]);
        return tf.mul(rows.reshape([batch, slices, ...rest]), real);
      }
      const positions = maskPositions(this.name, mask);
      return positions.length === batch * slices ? rows.reshape([batch, slices, ...rest]) : unfoldRows(rows, positions, batch, slices);
    });
  }
}

tf.serialization.registerClass(FoldSlices);
tf.serialization.registerClass(UnfoldSlices);
