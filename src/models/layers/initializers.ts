import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../core/rng.ts';

/** tfjs-layers' Initializer type (the class itself is not exported from the package root). */
export type Initializer = ReturnType<typeof tf.initializers.zeros>;

/**
 * A square random orthogonal matrix, row-major: Gram–Schmidt (modified, float64) over the rows of a Gaussian
 * matrix, rows being contiguous in memory. Done in plain JS from our seeded Rng because tfjs's orthogonal
 * initializer runs a QR through many small tensor ops: slow for recurrent matrices and noisy (it warns above 2000
 * elements).
 */
export function orthogonalMatrix(size: number, rng: Rng): Float64Array {
  const q = new Float64Array(size * size);
  for (let i = 0; i < q.length; i++) q[i] = rng.normal();
  for (let row = 0; row < size; row++) {
    const current = q.subarray(row * size, (row + 1) * size);
    for (let prev = 0; prev < row; prev++) {
      const done = q.subarray(prev * size, (prev + 1) * size);
      let dot = 0;
      for (let i = 0; i < size; i++) dot += current[i] * done[i];
      for (let i = 0; i < size; i++) current[i] -= dot * done[i];
    }
    let norm = 0;
    for (let i = 0; i < size; i++) norm += current[i] * current[i];
    norm = Math.sqrt(norm) || 1;
    for (let i = 0; i < size; i++) current[i] /= norm;
  }
  return q;
}

/** An initializer whose values are computed in JS; never serialized (layers store their seed instead). */
class ComputedInitializer extends tf.serialization.Serializable {
  static readonly className = 'SliceseqComputedInitializer';

  constructor(private readonly compute: (shape: number[]) => Float32Array) {
    super();
  }

  fromConfigUsesCustomObjects(): boolean {
    return false;
  }

  apply(shape: number[]): tf.Tensor {
    return tf.tensor(this.compute(shape), shape, 'float32');
  }

  getConfig(): tf.serialization.ConfigDict {
    return {};
  }
}

function computed(compute: (shape: number[]) => Float32Array): Initializer {
  return new ComputedInitializer(compute) as unknown as Initializer;
}

/** Above this many units an orthogonal block costs more than ~0.1 s of JS; Glorot uniform is used instead. */
export const orthogonalUnitLimit = 256;

/**
 * A recurrent kernel [units, gates·units]: one independent orthogonal block per gate while that is cheap
 * (units ≤ orthogonalUnitLimit), else Glorot uniform.
 */
export function recurrentKernelInitializer(units: number, seed: number): Initializer {
  return units <= orthogonalUnitLimit ? orthogonalGates(seed) : glorotUniform(seed);
}

function orthogonalGates(seed: number): Initializer {
  return computed(([units, width]) => {
    const gates = width / units;
    const rng = new Rng(seed);
    const values = new Float32Array(units * width);
    for (let gate = 0; gate < gates; gate++) {
      const block = orthogonalMatrix(units, rng);
      for (let row = 0; row < units; row++) {
        for (let col = 0; col < units; col++) values[row * width + gate * units + col] = block[row * units + col];
      }
    }
    return values;
  });
}

/** LSTM bias [4·units] with the forget gate (second block, order i f g o) at 1, so early training remembers. */
export function lstmForgetBias(): Initializer {
  return computed(([width]) => {
    const units = width / 4;
    const values = new Float32Array(width);
    values.fill(1, units, 2 * units);
    return values;
  });
}

export function glorotUniform(seed: number): Initializer {
  return tf.initializers.glorotUniform({ seed });
}

export function heNormal(seed: number): Initializer {
  return tf.initializers.heNormal({ seed });
}
