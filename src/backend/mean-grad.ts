import * as tf from '@tensorflow/tfjs';
import { sliceseqOpReady } from './sliceseq-ops.ts';
import { TfOps, fusedActive, registerTensorflowKernel } from './tf-ops.ts';

/**
 * tfjs's gradient of `Mean` (global average pooling's, in every backbone) as one TF op of ours,
 * `SliceseqMeanGrad` (native/tf-ops/rows.cc), where tfjs runs Reshape, Mul by a tensor of ones it uploads (a
 * [slices, h, w, c] array every step) and RealDiv. The same float32 division, so the same bits. Elsewhere (wasm,
 * cpu, the GPU package, `SLICESEQ_TF_OPS=0`, a non-float input) tfjs's own gradient runs, unchanged.
 */
export const MEAN_GRAD = 'SliceseqMeanGrad';

const meanGradKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const ops = TfOps.of(backend);
  const { dy, x } = inputs as Record<string, tf.TensorInfo>;
  return ops.one(MEAN_GRAD, [dy, x], [ops.int('axes', (attrs as { axes: number[] }).axes)]);
};

let wrapped = false;

/** Registers the kernel for 'tensorflow' and routes Mean's gradient through it where it runs (idempotent). */
export function registerMeanGradKernel(): void {
  registerTensorflowKernel(MEAN_GRAD, meanGradKernel);
  if (wrapped) return;
  const own = tf.getGradient(tf.Mean);
  if (!own) throw new Error("registerNativeKernels: tfjs has no gradient for 'Mean'");
  tf.registerGradient({
    ...own,
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      if (!(fusedActive() && sliceseqOpReady(MEAN_GRAD) && x.dtype === 'float32' && (dy as tf.Tensor).dtype === 'float32')) return own.gradFunc(dy, saved, attrs);
      const { axis, keepDims } = attrs as unknown as { axis: number | number[]; keepDims: boolean };
      const axes = tf.util.parseAxisParam(axis, x.shape);
      // keepDims leaves 1s where the averaged axes were: the op reads dy without them.
      const flat = keepDims ? (dy as tf.Tensor).reshape(x.shape.filter((_, i) => !axes.includes(i))) : (dy as tf.Tensor);
      return { x: () => tf.engine().runKernel(MEAN_GRAD, { dy: flat, x }, { axes } as unknown as tf.NamedAttrMap) as tf.Tensor };
    },
  });
  wrapped = true;
}
