import * as tf from '@tensorflow/tfjs';
import { setSliceseqOps, sliceseqOpsProblem } from '../../src/backend/sliceseq-ops.ts';
import { setFusedKernels } from '../../src/backend/tf-ops.ts';
import { Rng } from '../../src/core/rng.ts';
import { nativeTestBackend } from './backend.ts';

/** A seeded normal tensor. */
export function seededTensor(shape: number[], label: string, scale = 1): tf.Tensor {
  const rng = Rng.derive(23, label);
  return tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => scale * rng.normal()), shape);
}

/** Sets every weight of `layer` to seeded values (so zero-initialised weights take part too). */
export function randomizeWeights(layer: tf.layers.Layer, label: string): void {
  layer.setWeights(layer.getWeights().map((w, i) => seededTensor(w.shape, `${label}-${i}`, 0.4)));
}

export interface Pass {
  outputs: Float32Array;
  /** Gradients of sum(output · seeded weights) by each differentiated input, then each trainable weight. */
  grads: Float32Array[];
}

/**
 * Runs `forward` with the fused kernels on or off: its output, and the gradients of a seeded weighted sum of it
 * with respect to `inputs` and the layer's trainable weights.
 */
export function pass(fused: boolean, layer: tf.layers.Layer, inputs: tf.Tensor[], forward: (inputs: tf.Tensor[]) => tf.Tensor): Pass {
  const previous = setFusedKernels(fused);
  try {
    return tf.tidy(() => {
      const variables = layer.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
      const inputVars = inputs.map((t) => tf.variable(t.clone(), true));
      const outputs = forward(inputVars).dataSync() as Float32Array;
      const weights = seededTensor([outputs.length], 'output-weights');
      const { grads } = tf.variableGrads(() => tf.sum(tf.mul(forward(inputVars).reshape([-1]), weights)) as tf.Scalar, [...inputVars, ...variables]);
      const result = { outputs, grads: [...inputVars, ...variables].map((v) => grads[v.name].dataSync() as Float32Array) };
      inputVars.forEach((v) => v.dispose());
      return result;
    });
  } finally {
    setFusedKernels(previous);
  }
}

export function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`maxAbsDifference: lengths differ (${a.length} vs ${b.length})`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

/** A float mask [batch, slices] with `lengths[b]` real slices first in row b. */
export function prefixMask(lengths: number[], slices: number): tf.Tensor2D {
  return tf.tensor2d(lengths.flatMap((length) => Array.from({ length: slices }, (_, t) => (t < length ? 1 : 0))), [lengths.length, slices]);
}

/** Counts the kernels tfjs runs in `f` (tf.profile). */
export async function kernelCount(f: () => void): Promise<number> {
  const info = await tf.profile(() => {
    f();
  });
  return info.kernels.length;
}

/** The calls `f` makes to tfjs-node's binding: TensorFlow ops run (and their names), and tensors uploaded (native backend only). */
export function bindingCalls(f: () => void): { ops: number; uploads: number; names: string[] } {
  type Binding = { executeOp: (name: string, ...args: unknown[]) => unknown; createTensor: (...args: unknown[]) => unknown };
  const backend = tf.backend() as unknown as { binding: Binding };
  const { binding } = backend;
  const calls = { ops: 0, uploads: 0, names: [] as string[] };
  // The binding object is frozen: count through a stand-in that has it as prototype.
  backend.binding = Object.create(binding, {
    executeOp: { value: (name: string, ...args: unknown[]) => (calls.ops++, calls.names.push(name), binding.executeOp(name, ...args)) },
    createTensor: { value: (...args: unknown[]) => (calls.uploads++, binding.createTensor(...args)) },
  });
  try {
    f();
  } finally {
    backend.binding = binding;
  }
  return calls;
}

/** Counts the TensorFlow ops `f` sends through tfjs-node's binding (native backend only). */
export const tfOpCount = (f: () => void): number => bindingCalls(f).ops;

/** Runs f with the fused kernels on or off, restoring the previous setting. */
export function withFused<T>(enabled: boolean, f: () => T): T {
  const previous = setFusedKernels(enabled);
  try {
    return f();
  } finally {
    setFusedKernels(previous);
  }
}

/**
 * Runs `f` with sliceseq's own TensorFlow ops (native/tf-ops) on or off (off, the fused kernels run TF's ops); an
 * async `f` keeps the setting until its promise settles.
 */
export function withSliceseqOps<T>(enabled: boolean, f: () => T): T {
  const previous = setSliceseqOps(enabled);
  let result: T;
  try {
    result = f();
  } catch (error) {
    setSliceseqOps(previous);
    throw error;
  }
  if (result instanceof Promise) return result.finally(() => setSliceseqOps(previous)) as T;
  setSliceseqOps(previous);
  return result;
}

/** sliceseq's ops load on the native CPU package only (the GPU-build pass runs TF's ops in their place). */
export const sliceseqOpsExpected = nativeTestBackend === 'tensorflow';

/**
 * On the native CPU package sliceseq's ops must be loaded (`npm run native` builds them; CI runs it): throws why not,
 * so a parity test cannot pass by comparing TF's ops with themselves. Nothing to check in the GPU-build pass.
 */
export function requireSliceseqOps(): void {
  if (!sliceseqOpsExpected) return;
  const problem = sliceseqOpsProblem();
  if (problem) throw new Error(`sliceseq's TensorFlow ops are ${problem}`);
}
