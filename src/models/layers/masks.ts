import * as tf from '@tensorflow/tfjs';

/**
 * The slice mask convention: a float tensor [batch, slices], 1 for a real slice, 0 for padding. Anything above
 * 0.5 counts as real, so a mask that went through float arithmetic still reads the same.
 */
export function binaryMask(mask: tf.Tensor): tf.Tensor2D {
  return tf.cast(tf.greater(mask, 0.5), 'float32') as tf.Tensor2D;
}

/** Flat positions (row-major over [batch, slices]) of the real slices, read from the mask's values. */
export function realPositions(mask: tf.Tensor): Int32Array {
  const values = mask.dataSync();
  const positions: number[] = [];
  for (let i = 0; i < values.length; i++) if (values[i] > 0.5) positions.push(i);
  return Int32Array.from(positions);
}
