import * as tf from '@tensorflow/tfjs';

const show = (shape: number[]) => `[${shape.join(', ')}]`;

/** Logits need at least [rows, width]. */
export function assertRowsOfLogits(logits: tf.Tensor, where: string): void {
  if (logits.rank < 2) throw new Error(`${where}: logits must be [rows, width] or [batch, slices, width], got ${show(logits.shape)}`);
}

/** Targets laid out exactly like the logits (binary, one-hot, regression grades). */
export function assertSameShape(logits: tf.Tensor, targets: tf.Tensor, where: string): void {
  assertRowsOfLogits(logits, where);
  if (!tf.util.arraysEqual(logits.shape, targets.shape)) {
    throw new Error(`${where}: targets of shape ${show(targets.shape)} must have the logits' shape ${show(logits.shape)}`);
  }
}

/** Targets with the logits' leading dimensions and any last width (cumulative: one grade per class). */
export function assertSameRows(logits: tf.Tensor, targets: tf.Tensor, where: string): void {
  assertRowsOfLogits(logits, where);
  const sameRows = targets.rank === logits.rank && tf.util.arraysEqual(targets.shape.slice(0, -1), logits.shape.slice(0, -1));
  if (!sameRows) {
    throw new Error(`${where}: targets of shape ${show(targets.shape)} must have the same leading dimensions as logits ${show(logits.shape)}`);
  }
}

/** Float32 view of targets that may arrive as int32 grades or bool labels. */
export function asFloat(tensor: tf.Tensor): tf.Tensor {
  return tensor.dtype === 'float32' ? tensor : tf.cast(tensor, 'float32');
}
