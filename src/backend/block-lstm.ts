import * as tf from '@tensorflow/tfjs';
import { TfOps, registerGradientOnce, registerTensorflowKernel } from './tf-ops.ts';

/**
 * A whole LSTM sequence as one kernel on the native backend: TensorFlow's `BlockLSTMV2` runs every step of
 *   i = σ(z_i), f = σ(z_f), g = tanh(z_g), o = σ(z_o) with z = [x_t, h_{t−1}]·w + b (gate columns i f g o, our order),
 *   c_t = f·c_{t−1} + i·g, h_t = o·tanh(c_t)
 * over x [T, B, I] from (h_prev, cs_prev) [B, H], with no peepholes and no cell clipping; `BlockLSTMGradV2` is its
 * backward pass over all steps at once. An input width I of 0 is allowed (a cell whose inputs are all zero).
 * `ReverseSequence` reverses the first `lengths[b]` steps of each batch row (its own gradient), which turns a
 * masked backward direction into a forward run.
 *
 * The wasm and cpu twins are the per-step cell ops of src/models/layers/recurrent-cells.ts.
 */
export const BLOCK_LSTM = 'SliceseqBlockLSTM';
export const BLOCK_LSTM_GRAD = 'SliceseqBlockLSTMGrad';
export const REVERSE_SEQUENCE = 'SliceseqReverseSequence';

/** BlockLSTMV2's outputs, in order. */
const outputNames = ['i', 'cs', 'f', 'o', 'ci', 'co', 'h'] as const;

function lstmAttrs(ops: TfOps) {
  return [ops.T, ops.float('cell_clip', 0), ops.bool('use_peephole', false)];
}

/** inputs {x [T,B,I], cs [B,H], h [B,H], w [I+H,4H], b [4H]} → [i, cs, f, o, ci, co, h], each [T,B,H]. */
const blockLstmKernel: tf.KernelFunc = ({ inputs, backend }) => {
  const ops = TfOps.of(backend);
  const { x, cs, h, w, b } = inputs as Record<string, tf.TensorInfo>;
  const peephole = tf.zeros([h.shape[1]]);
  try {
    return ops.many('BlockLSTMV2', [ops.int64(x.shape[0]), x, cs, h, w, peephole, peephole, peephole, b], 7, lstmAttrs(ops));
  } finally {
    peephole.dispose();
  }
};

/** The forward inputs and outputs, plus {csGrad, hGrad} → gradients of x, cs, h, w, b. */
const blockLstmGradKernel: tf.KernelFunc = ({ inputs, backend }) => {
  const ops = TfOps.of(backend);
  const t = inputs as Record<string, tf.TensorInfo>;
  const peephole = tf.zeros([t.h.shape[1]]);
  try {
    const grads = ops.many(
      'BlockLSTMGradV2',
      [ops.int64(t.x.shape[0]), t.x, t.cs, t.h, t.w, peephole, peephole, peephole, t.b, t.iOut, t.csOut, t.fOut, t.oOut, t.ciOut, t.coOut, t.hOut, t.csGrad, t.hGrad],
      8,
      [ops.T, ops.bool('use_peephole', false)],
    );
    // x, cs_prev, h_prev, w, (three peephole gradients), b
    tf.dispose(grads.slice(4, 7));
    return [grads[0], grads[1], grads[2], grads[3], grads[7]];
  } finally {
    peephole.dispose();
  }
};

const reverseSequenceKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const ops = TfOps.of(backend);
  const { x, lengths } = inputs as Record<string, tf.TensorInfo>;
  const { seqAxis, batchAxis } = attrs as { seqAxis: number; batchAxis: number };
  return ops.one('ReverseSequence', [x, lengths], [ops.T, ops.type('Tlen', 'int32'), ops.int('seq_dim', seqAxis), ops.int('batch_dim', batchAxis)]);
};

/** Registers the kernels and their gradients for 'tensorflow' (idempotent). */
export function registerBlockLstmKernels(): void {
  registerTensorflowKernel(BLOCK_LSTM, blockLstmKernel);
  registerTensorflowKernel(BLOCK_LSTM_GRAD, blockLstmGradKernel);
  registerTensorflowKernel(REVERSE_SEQUENCE, reverseSequenceKernel);
  registerGradientOnce({
    kernelName: BLOCK_LSTM,
    inputsToSave: ['x', 'cs', 'h', 'w', 'b'],
    outputsToSave: outputNames.map(() => true),
    gradFunc: (dy, saved) => {
      const [x, cs, h, w, b, iOut, csOut, fOut, oOut, ciOut, coOut, hOut] = saved;
      const dys = dy as tf.Tensor[];
      // Only the sequences of c and h carry gradients; the gate outputs are internal to this kernel's callers.
      const inputs = { x, cs, h, w, b, iOut, csOut, fOut, oOut, ciOut, coOut, hOut, csGrad: dys[1], hGrad: dys[6] };
      const [dx, dcs, dh, dw, db] = tf.engine().runKernel(BLOCK_LSTM_GRAD, inputs as unknown as tf.NamedTensorMap) as tf.Tensor[];
      return { x: () => dx, cs: () => dcs, h: () => dh, w: () => dw, b: () => db };
    },
  });
  registerGradientOnce({
    kernelName: REVERSE_SEQUENCE,
    inputsToSave: ['lengths'],
    gradFunc: (dy, saved, attrs) => ({
      x: () => reverseSequence(dy as tf.Tensor, saved[0], attrs as unknown as { seqAxis: number; batchAxis: number }),
      lengths: () => tf.zeros(saved[0].shape),
    }),
  });
}

/**
 * Every step's hidden state [T, B, H] of an LSTM over x [T, B, I] from (h0, c0) [B, H]; `w` = [input kernel;
 * recurrent kernel] [I + H, 4H], `b` [4H]. Native backend only.
 */
export function blockLstm(x: tf.Tensor, h0: tf.Tensor, c0: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor3D {
  const outputs = tf.engine().runKernel(BLOCK_LSTM, { x, cs: c0, h: h0, w, b }) as tf.Tensor[];
  tf.dispose(outputs.slice(0, 6));
  return outputs[6] as tf.Tensor3D;
}

/** Reverses the first lengths[b] entries along `seqAxis` of each row b along `batchAxis`; lengths int32 [B]. Native backend only. */
export function reverseSequence(x: tf.Tensor, lengths: tf.Tensor, axes: { seqAxis: number; batchAxis: number }): tf.Tensor {
  return tf.engine().runKernel(REVERSE_SEQUENCE, { x, lengths }, axes as unknown as tf.NamedAttrMap) as tf.Tensor;
}
