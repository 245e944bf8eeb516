import * as tf from '@tensorflow/tfjs';
import { fusedActive } from '../backend/tf-ops.ts';

/** One per-variable optimizer slot as tfjs keeps it (`<variable>/m`, `<variable>/momentum`, …). */
export interface Slot {
  originalName: string;
  variable: tf.Variable;
}

export type Gradients = Parameters<tf.AdamOptimizer['applyGradients']>[0];
export type NamedTensor = { name: string; tensor: tf.Tensor };

export function namedGradients(variableGradients: Gradients): NamedTensor[] {
  return Array.isArray(variableGradients) ? variableGradients : Object.entries(variableGradients).map(([name, tensor]) => ({ name, tensor }));
}

/**
 * The slots of a flat optimizer kernel (src/backend/flat-adam.ts, flat-momentum.ts) between steps: one flat vector
 * per slot over every variable, and each variable's positions in them (`indices`, int32 of the variable's shape).
 * Optimizers move their per-variable slots in with `gather` and back out with `split` (for getWeights, a change of
 * variables or the per-variable path), so checkpoints keep tfjs's per-variable format.
 */
export class FlatSlots {
  private constructor(
    readonly names: string[],
    readonly indices: tf.Tensor[],
    public vectors: tf.Tensor[],
    /** Constant kernel inputs kept between steps: each variable's shape (int32 vector) and every element count. */
    private readonly shapes: tf.Tensor[] = indices.map((index) => tf.keep(tf.tensor1d(index.shape, 'int32'))),
    private readonly sizes: tf.Tensor = tf.keep(tf.tensor1d(indices.map((index) => index.size), 'int32')),
  ) {}

  /** Moves per-variable slot lists (zeros for a list that is not complete yet) into flat vectors; disposes them. */
  static gather(names: string[], lists: Slot[][]): FlatSlots {
    const variables = names.map((name) => tf.engine().registeredVariables[name]);
    let offset = 0;
    const indices = variables.map((variable) => {
      const index = tf.keep(tf.range(offset, offset + variable.size, 1, 'int32').reshape(variable.shape));
      offset += variable.size;
      return index;
    });
    const vectors = lists.map((slots) =>
      tf.keep(slots.length === names.length ? tf.tidy(() => tf.concat(slots.map((slot) => slot.variable.reshape([-1])))) : tf.zeros([offset])),
    );
    tf.dispose(lists.flat().map((slot) => slot.variable));
    return new FlatSlots(names, indices, vectors);
  }

  sameVariables(names: string[]): boolean {
    return this.names.length === names.length && this.names.every((name, k) => name === names[k]);
  }

  /** A flat kernel's per-variable inputs: gradient `g<k>`, value `x<k>`, positions `i<k>`, shape `s<k>`; `sizes`. */
  inputs(list: NamedTensor[]): tf.NamedTensorMap {
    const inputs: tf.NamedTensorMap = { sizes: this.sizes };
    list.forEach((entry, k) => {
      inputs[`g${k}`] = entry.tensor;
      inputs[`x${k}`] = tf.engine().registeredVariables[entry.name];
      inputs[`i${k}`] = this.indices[k];
      inputs[`s${k}`] = this.shapes[k];
    });
    return inputs;
  }

  /** Takes the kernel's new slot vectors and assigns its new variable values (disposing them). */
  update(vectors: tf.Tensor[], values: tf.Tensor[]): void {
    tf.dispose(this.vectors);
    this.vectors = vectors.map((vector) => tf.keep(vector));
    this.names.forEach((name, k) => tf.engine().registeredVariables[name].assign(values[k]));
    tf.dispose(values);
  }

  /** Back to per-variable slots named `<variable>/<suffix>`, one list per vector; disposes the flat state. */
  split(suffixes: string[]): Slot[][] {
    const sizes = this.indices.map((index) => index.size);
    const lists = this.vectors.map((vector, s) =>
      tf.tidy(() => tf.split(vector, sizes)).map((piece, k) => {
        const variable = tf.tidy(() => piece.reshape(this.indices[k].shape).variable(false));
        piece.dispose();
        return { originalName: `${this.names[k]}/${suffixes[s]}`, variable };
      }),
    );
    tf.dispose([...this.vectors, ...this.indices, ...this.shapes, this.sizes]);
    return lists;
  }
}

/** How one optimizer's step maps onto its flat kernel (see FlatAdamOptimizer, FlatMomentumOptimizer). */
export interface FlatStep<O> {
  kernel: string;
  /** Whether this optimizer's settings have a flat kernel (default: always). */
  applies?: (optimizer: O) => boolean;
  /** The kernel's input name for each slot vector, and each slot's suffix in tfjs's per-variable names. */
  slots: Array<{ input: string; suffix: string }>;
  /** tfjs's per-variable slot lists, one per slot (read and replaced). */
  getSlots(optimizer: O): Slot[][];
  setSlots(optimizer: O, lists: Slot[][]): void;
  /** The kernel's other inputs (scalars the optimizer keeps) and its attributes. */
  inputs(optimizer: O): tf.NamedTensorMap;
  attrs(optimizer: O, count: number): object;
  /** Takes the outputs between the slot vectors and the variable values (and disposes them). */
  takeOutputs(optimizer: O, outputs: tf.Tensor[]): void;
  extraOutputs: number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type OptimizerClass = new (...args: any[]) => {
  applyGradients(variableGradients: Gradients): void;
  getWeights(): Promise<NamedTensor[]>;
  setWeights(weightValues: NamedTensor[]): Promise<void>;
  dispose(): void;
};

/**
 * `Base` (a tfjs optimizer) with its whole step as one flat kernel on the native backend while fused kernels are on,
 * and its own per-variable step otherwise; the slots live in a FlatSlots between flat steps and go back to tfjs's
 * per-variable form for getWeights, setWeights, dispose and the per-variable path.
 */
export function withFlatStep<B extends OptimizerClass>(Base: B, step: FlatStep<InstanceType<B>>) {
  return class extends Base {
    private flat: FlatSlots | null = null;

    override applyGradients(variableGradients: Gradients): void {
      const self = this as unknown as InstanceType<B>;
      const list = namedGradients(variableGradients);
      if (!fusedActive() || step.applies?.(self) === false || list.some((entry) => entry.tensor == null)) {
        this.unflatten();
        super.applyGradients(variableGradients);
        return;
      }
      const names = list.map((entry) => entry.name);
      if (this.flat && !this.flat.sameVariables(names)) this.unflatten();
      if (!this.flat) {
        this.flat = FlatSlots.gather(names, step.getSlots(self));
        step.setSlots(self, step.slots.map(() => []));
      }
      const flat = this.flat;
      const inputs: tf.NamedTensorMap = { ...step.inputs(self), ...flat.inputs(list) };
      step.slots.forEach((slot, s) => (inputs[slot.input] = flat.vectors[s]));
      const outputs = tf.engine().runKernel(step.kernel, inputs, step.attrs(self, names.length) as tf.NamedAttrMap) as tf.Tensor[];
      const count = step.slots.length;
      flat.update(outputs.slice(0, count), outputs.slice(count + step.extraOutputs));
      step.takeOutputs(self, outputs.slice(count, count + step.extraOutputs));
      (this as unknown as { incrementIterations(): void }).incrementIterations();
    }

    /** Back to tfjs's per-variable slots. */
    unflatten(): void {
      if (!this.flat) return;
      step.setSlots(this as unknown as InstanceType<B>, this.flat.split(step.slots.map((slot) => slot.suffix)));
      this.flat = null;
    }

    override async getWeights(): Promise<NamedTensor[]> {
      this.unflatten();
      return super.getWeights();
    }

    override async setWeights(weightValues: NamedTensor[]): Promise<void> {
      this.unflatten();
      tf.dispose(step.getSlots(this as unknown as InstanceType<B>).flat().map((slot) => slot.variable));
      await super.setWeights(weightValues);
    }

    override dispose(): void {
      this.unflatten();
      super.dispose();
    }
  };
}
