import * as tf from '@tensorflow/tfjs';
import { sliceseqOpReady } from './sliceseq-ops.ts';
import { TfOps, fusedActive, overrideGradient, registerTensorflowKernel } from './tf-ops.ts';

/**
 * tfjs's gradients of `Sum` and `Mean` (global average pooling's in every backbone, a loss's sum) as one TF op of
 * ours, `SliceseqReduceGrad` (native/tf-ops/rows.cc), where tfjs runs Reshape and Mul by a tensor of ones it
 * uploads (x's shape, every step), and RealDiv for the mean. dy·1 and (dy·1)/count are the same float32 values, so
 * the same bits. Elsewhere (wasm, cpu, the GPU package, `SLICESEQ_TF_OPS=0`, a non-float tensor, a reduction over
 * no axis) tfjs's own gradients run, unchanged.
 */
export const REDUCE_GRAD = 'SliceseqReduceGrad';

const reduceGradKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const ops = TfOps.of(backend);
  const { dy, x } = inputs as Record<string, tf.TensorInfo>;
  const { axes, mean } = attrs as { axes: number[]; mean: boolean };
  return ops.one(REDUCE_GRAD, [dy, x], [ops.int('axes', axes), ops.bool('mean', mean)]);
};

/** Routes the gradient of `kernelName` (Sum or Mean) through the op where it runs. */
function wrapGradient(kernelName: typeof tf.Sum | typeof tf.Mean): void {
  overrideGradient(kernelName, (dy, saved, attrs) => {
    const [x] = saved;
    const g = dy as tf.Tensor;
    const axes = tf.util.parseAxisParam((attrs as unknown as { axis: number | number[] }).axis, x.shape);
    if (!(fusedActive() && sliceseqOpReady(REDUCE_GRAD) && x.dtype === 'float32' && g.dtype === 'float32' && axes.length > 0)) return null;
    // keepDims leaves 1s where the reduced axes were: the op reads dy without them.
    const flat = (attrs as unknown as { keepDims: boolean }).keepDims ? g.reshape(x.shape.filter((_, i) => !axes.includes(i))) : g;
    const opAttrs = { axes, mean: kernelName === tf.Mean } as unknown as tf.NamedAttrMap;
    return { x: () => tf.engine().runKernel(REDUCE_GRAD, { dy: flat, x }, opAttrs) as tf.Tensor };
  });
}

/** Registers the kernel for 'tensorflow' and routes Sum's and Mean's gradients through it where it runs (idempotent). */
export function registerReduceGradKernel(): void {
  registerTensorflowKernel(REDUCE_GRAD, reduceGradKernel);
  wrapGradient(tf.Sum);
  wrapGradient(tf.Mean);
}
