import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';

/**
 * Running TensorFlow ops by name through tfjs-node's binding, for the fused kernels (block-lstm.ts, gru.ts,
 * flat-adam.ts, mkl-max-pool.ts, native-kernels.ts). `backend.executeSingleOutput(op, attrs, inputs)` runs any op
 * of the TensorFlow C library eagerly; its outputs are ordinary tfjs tensors (tracked, disposable), so a tfjs kernel
 * built from such calls shows up once on the tape, in tf.profile and in tf.memory.
 *
 * `SLICESEQ_FUSED=0` turns every fused kernel off (the per-op tfjs path runs instead, for comparison).
 */

/** The parts of tfjs-node's NodeJSKernelBackend we call (it has no exported type through @tensorflow/tfjs). */
export interface NativeBackend {
  binding: {
    TF_ATTR_INT: number;
    TF_ATTR_FLOAT: number;
    TF_ATTR_STRING: number;
    TF_ATTR_BOOL: number;
    TF_ATTR_TYPE: number;
    TF_FLOAT: number;
    TF_INT32: number;
    TF_INT64: number;
    TF_UINT8: number;
  };
  executeSingleOutput(name: string, attrs: OpAttr[], inputs: unknown[]): tf.Tensor;
  executeMultipleOutputs(name: string, attrs: OpAttr[], inputs: unknown[], numOutputs: number): tf.Tensor[];
  /** One more reference to a tensor's data (what tfjs-node's Identity kernel does). */
  incRef(dataId: tf.DataId): void;
}

export interface OpAttr {
  name: string;
  type: number;
  value: unknown;
}

let fused = process.env.SLICESEQ_FUSED !== '0';

/** Whether the fused kernels run (on the tensorflow backend only): SLICESEQ_FUSED=0 turns them off. */
export function fusedKernelsEnabled(): boolean {
  return fused;
}

/** For tests and the benchmark: turn the fused kernels on or off in this process (returns the previous setting). */
export function setFusedKernels(enabled: boolean): boolean {
  const previous = fused;
  fused = enabled;
  return previous;
}

/** True when the fused path should run now: fusion on and the active backend is tfjs-node's. */
export function fusedActive(): boolean {
  return fused && tf.getBackend() === 'tensorflow';
}

type Int64ScalarClass = new (value: number) => object;
let int64Scalar: Int64ScalarClass | null = null;

/** Remembers which native package is loaded, for its int64 scalar class (ops such as BlockLSTMV2 take an int64). */
export function bindNativePackage(pkg: string): void {
  const require = createRequire(import.meta.url);
  int64Scalar = (require(`${pkg}/dist/int64_tensors.js`) as { Int64Scalar: Int64ScalarClass }).Int64Scalar;
}

/** Op attributes and calls on the native backend. */
export class TfOps {
  readonly T: OpAttr;

  constructor(readonly backend: NativeBackend) {
    this.T = this.type('T', 'float32');
  }

  static of(backend: unknown): TfOps {
    return new TfOps(backend as NativeBackend);
  }

  type(name: string, dtype: 'float32' | 'int32' | 'int64'): OpAttr {
    const { binding } = this.backend;
    return { name, type: binding.TF_ATTR_TYPE, value: dtype === 'float32' ? binding.TF_FLOAT : dtype === 'int32' ? binding.TF_INT32 : binding.TF_INT64 };
  }

  int(name: string, value: number | number[]): OpAttr {
    return { name, type: this.backend.binding.TF_ATTR_INT, value };
  }

  float(name: string, value: number): OpAttr {
    return { name, type: this.backend.binding.TF_ATTR_FLOAT, value };
  }

  bool(name: string, value: boolean): OpAttr {
    return { name, type: this.backend.binding.TF_ATTR_BOOL, value };
  }

  string(name: string, value: string): OpAttr {
    return { name, type: this.backend.binding.TF_ATTR_STRING, value };
  }

  /** One output; float32 ops need no attributes beyond `T`. */
  one(op: string, inputs: unknown[], attrs: OpAttr[] = [this.T]): tf.Tensor {
    return this.backend.executeSingleOutput(op, attrs, inputs);
  }

  /** One output of an op that takes a shape argument (`input_sizes`, `filter_sizes`): `shape` goes in as an int32 vector at `shapeAt`. */
  oneWithShape(op: string, inputs: unknown[], shape: readonly number[], shapeAt: number, attrs: OpAttr[]): tf.Tensor {
    const sizes = tf.tensor1d(shape as number[], 'int32');
    try {
      const all = [...inputs];
      all.splice(shapeAt, 0, sizes);
      return this.one(op, all, attrs);
    } finally {
      sizes.dispose();
    }
  }

  many(op: string, inputs: unknown[], count: number, attrs: OpAttr[] = [this.T]): tf.Tensor[] {
    return this.backend.executeMultipleOutputs(op, attrs, inputs, count);
  }

  private readonly constants = new Map<string, tf.Tensor>();

  /**
   * A constant input (a scalar, or a vector such as SplitV's sizes), made once per TfOps: a kernel makes its TfOps
   * inside its tidy, which frees the constants with the kernel's other temporaries.
   */
  constant(value: number | readonly number[], dtype: 'float32' | 'int32' = 'float32'): tf.Tensor {
    const key = `${dtype} ${typeof value === 'number' ? value : `[${value.join(',')}]`}`;
    let tensor = this.constants.get(key);
    if (!tensor) {
      tensor = typeof value === 'number' ? tf.scalar(value, dtype) : tf.tensor1d(value as number[], dtype);
      this.constants.set(key, tensor);
    }
    return tensor;
  }

  /** An int64 scalar input (kept on the host until the op runs). */
  int64(value: number): object {
    if (!int64Scalar) throw new Error('internal: bindNativePackage was not called when the native backend loaded');
    return new int64Scalar(value);
  }

  /** Whether TensorFlow has an op of that name (a probe run that fails to find its kernel says no). */
  has(op: string, inputs: unknown[], attrs: OpAttr[], count: number): boolean {
    try {
      tf.dispose(this.many(op, inputs, count, attrs));
      return true;
    } catch {
      return false;
    }
  }
}

const gradientsRegistered = new Set<string>();

/**
 * Registers a fused kernel's gradient, once per process: registering again would only make tfjs warn that it
 * overrides the same gradient. (Kernels themselves go through registerTensorflowKernel, which re-registers when
 * the function changed.)
 */
export function registerGradientOnce(config: Parameters<typeof tf.registerGradient>[0]): void {
  if (gradientsRegistered.has(config.kernelName)) return;
  gradientsRegistered.add(config.kernelName);
  tf.registerGradient(config);
}

const gradientsOverridden = new Set<string>();

/**
 * Replaces tfjs's gradient of `kernelName` (once per process) with `ours`, which returns the gradients or null,
 * where tfjs's own gradient (kept, unchanged) runs instead: how a fused path takes over a stock kernel's gradient.
 */
export function overrideGradient(kernelName: string, ours: (...args: Parameters<tf.GradConfig['gradFunc']>) => ReturnType<tf.GradConfig['gradFunc']> | null): void {
  if (gradientsOverridden.has(kernelName)) return;
  const own = tf.getGradient(kernelName);
  if (!own) throw new Error(`registerNativeKernels: tfjs has no gradient for '${kernelName}'`);
  tf.registerGradient({ ...own, gradFunc: (dy, saved, attrs) => ours(dy, saved, attrs) ?? own.gradFunc(dy, saved, attrs) });
  gradientsOverridden.add(kernelName);
}

/** Registers a kernel for the 'tensorflow' backend (replacing an earlier registration of ours). */
export function registerTensorflowKernel(kernelName: string, kernelFunc: tf.KernelFunc): void {
  if (tf.getKernel(kernelName, 'tensorflow')?.kernelFunc === kernelFunc) return;
  if (tf.getKernel(kernelName, 'tensorflow')) tf.unregisterKernel(kernelName, 'tensorflow');
  tf.registerKernel({ kernelName, backendName: 'tensorflow', kernelFunc });
}
