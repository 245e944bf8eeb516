import * as tf from '@tensorflow/tfjs';
import { FLAT_ADAM, type FlatAdamAttrs } from '../backend/flat-adam.ts';
import { fusedActive } from '../backend/tf-ops.ts';

interface Moment {
  originalName: string;
  variable: tf.Variable;
}

/** tfjs's AdamOptimizer fields this class reads (TypeScript-protected there). */
interface AdamFields {
  accumulatedFirstMoment: Moment[];
  accumulatedSecondMoment: Moment[];
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

type Gradients = Parameters<tf.AdamOptimizer['applyGradients']>[0];
type NamedTensor = { name: string; tensor: tf.Tensor };

/** The flat moments and where each variable lies in them. */
interface FlatState {
  names: string[];
  indices: tf.Tensor[];
  m: tf.Tensor;
  v: tf.Tensor;
}

/**
 * tfjs's Adam, with the whole step as one kernel on the native backend (src/backend/flat-adam.ts: bitwise the
 * same numbers) and tfjs's per-variable step elsewhere or with SLICESEQ_FUSED=0. On the native backend the moments
 * live in two flat vectors between steps; `getWeights`, `setWeights` and `dispose` see tfjs's per-variable moments
 * (`<name>/m`, `<name>/v`, in variable order) as before, so checkpoints keep their format either way.
 */
export class FlatAdamOptimizer extends tf.AdamOptimizer {
  private flat: FlatState | null = null;

  private get fields(): AdamFields {
    return this as unknown as AdamFields;
  }

  override applyGradients(variableGradients: Gradients): void {
    const list: NamedTensor[] = Array.isArray(variableGradients) ? variableGradients : Object.entries(variableGradients).map(([name, tensor]) => ({ name, tensor }));
    if (!fusedActive() || list.some((entry) => entry.tensor == null)) {
      this.unflatten();
      super.applyGradients(variableGradients);
      return;
    }
    const names = list.map((entry) => entry.name);
    if (this.flat && this.flat.names.join('\n') !== names.join('\n')) this.unflatten();
    const flat = this.flat ?? this.flatten(names);
    const fields = this.fields;
    const values = names.map((name) => tf.engine().registeredVariables[name]);
    const inputs: tf.NamedTensorMap = { m: flat.m, v: flat.v, accBeta1: fields.accBeta1, accBeta2: fields.accBeta2 };
    list.forEach((entry, k) => {
      inputs[`g${k}`] = entry.tensor;
      inputs[`x${k}`] = values[k];
      inputs[`i${k}`] = flat.indices[k];
    });
    const attrs: FlatAdamAttrs = { count: names.length, learningRate: fields.learningRate, beta1: fields.beta1, beta2: fields.beta2, epsilon: fields.epsilon };
    const [m, v, accBeta1, accBeta2, ...updated] = tf.engine().runKernel(FLAT_ADAM, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
    tf.dispose([flat.m, flat.v]);
    flat.m = tf.keep(m);
    flat.v = tf.keep(v);
    fields.accBeta1.assign(accBeta1);
    fields.accBeta2.assign(accBeta2);
    values.forEach((variable, k) => variable.assign(updated[k]));
    tf.dispose([accBeta1, accBeta2, ...updated]);
    this.incrementIterations();
  }

  /** Moves the per-variable moments (zeros where there are none yet) into flat vectors. */
  private flatten(names: string[]): FlatState {
    const fields = this.fields;
    const variables = names.map((name) => tf.engine().registeredVariables[name]);
    let offset = 0;
    const indices = variables.map((variable) => {
      const size = variable.size;
      const index = tf.keep(tf.range(offset, offset + size, 1, 'int32').reshape(variable.shape));
      offset += size;
      return index;
    });
    const gather = (moments: Moment[]) =>
      tf.keep(
        moments.length === names.length
          ? tf.tidy(() => tf.concat(moments.map((moment) => moment.variable.reshape([-1]))))
          : tf.zeros([offset]),
      );
    this.flat = { names, indices, m: gather(fields.accumulatedFirstMoment), v: gather(fields.accumulatedSecondMoment) };
    tf.dispose([...fields.accumulatedFirstMoment, ...fields.accumulatedSecondMoment].map((moment) => moment.variable));
    fields.accumulatedFirstMoment = [];
    fields.accumulatedSecondMoment = [];
    return this.flat;
  }

  /** Back to tfjs's per-variable moments (for getWeights, a change of variables, or the per-variable path). */
  private unflatten(): void {
    const flat = this.flat;
    if (!flat) return;
    const sizes = flat.indices.map((index) => index.size);
    const split = (vector: tf.Tensor, suffix: string): Moment[] =>
      tf.tidy(() => tf.split(vector, sizes)).map((piece, k) => {
        const variable = tf.tidy(() => piece.reshape(flat.indices[k].shape).variable(false));
        piece.dispose();
        return { originalName: `${flat.names[k]}/${suffix}`, variable };
      });
    const fields = this.fields;
    fields.accumulatedFirstMoment = split(flat.m, 'm');
    fields.accumulatedSecondMoment = split(flat.v, 'v');
    tf.dispose([flat.m, flat.v, ...flat.indices]);
    this.flat = null;
  }

  override async getWeights(): Promise<NamedTensor[]> {
    this.unflatten();
    return super.getWeights();
  }

  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    this.unflatten();
    tf.dispose([...this.fields.accumulatedFirstMoment, ...this.fields.accumulatedSecondMoment].map((moment) => moment.variable));
    await super.setWeights(weightValues);
  }

  override dispose(): void {
    this.unflatten();
    super.dispose();
  }
}
