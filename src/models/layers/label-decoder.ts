import * as tf from '@tensorflow/tfjs';
import { blockLstm } from '../../backend/block-lstm.ts';
import { dense } from '../../backend/dense.ts';
import { gruSequence } from '../../backend/gru.ts';
import { fusedActive } from '../../backend/tf-ops.ts';
import { Rng } from '../../core/rng.ts';
import { glorotUniform } from './initializers.ts';
import { OptionsLayer, type LayerNaming } from './options-layer.ts';
import { addDirectionCells, gateCount, projectInputs, recurrentOptionKeys, runDirection, withHiddenSize, zeroState, type AddWeight, type CellVariables, type RecurrentOptions } from './recurrent-cells.ts';

export const decoderInputKinds = ['zeros', 'embedding', 'learned'] as const;
export type DecoderInputKind = (typeof decoderInputKinds)[number];

export interface LabelDecoderOptions extends RecurrentOptions {
  numClasses: number;
  /**
   * What each class step reads: nothing (`zeros`, the reference design); a learned embedding of the class through
   * the cell's input kernel (`embedding`, rank at most `embeddingSize`, shared by both directions); or a learned
   * input vector per class step and direction added straight to the gate pre-activations (`learned`: an input with
   * an identity kernel, zero at the start, so an untrained decoder computes exactly the reference design).
   */
  inputs: DecoderInputKind;
  embeddingSize: number;
}

export type LabelDecoderArgs = LabelDecoderOptions & LayerNaming;

/**
 * The recurrent label decoder: features [n, features] → one score per class [n, classes]. The initial hidden
 * state of each direction is a linear map of the features (LSTM cell state zero); the cell then takes one step per
 * class, in class order (backward direction: reverse order), and one Linear(directions·hidden → 1) shared by all
 * steps turns each step's hidden state into that class's score. With zero inputs the cell has no input kernel
 * (it would only ever multiply zeros); its input bias is the constant input.
 */
export class LabelDecoder extends OptionsLayer<LabelDecoderOptions> {
  static readonly className = 'SliceseqLabelDecoder';
  private cells: CellVariables[] = [];
  private initialKernel!: tf.LayerVariable;
  private initialBias!: tf.LayerVariable;
  private embedding: tf.LayerVariable | null = null;
  /** `learned` inputs: per direction [classes, gates·units]. */
  private stepInputs: tf.LayerVariable[] = [];
  private outputKernel!: tf.LayerVariable;
  private outputBias!: tf.LayerVariable;

  constructor(args: LabelDecoderArgs) {
    super(withHiddenSize(args), [...recurrentOptionKeys, 'numClasses', 'inputs', 'embeddingSize']);
  }

  private get directions(): number {
    return this.options.bidirectional ? 2 : 1;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const features = (inputShape as tf.Shape)[1];
    if (features == null) throw new Error(`${this.name}: the feature size must be known, got shape [${(inputShape as tf.Shape).join(', ')}]`);
    const { hidden: units, numClasses, inputs, embeddingSize, seed } = this.options;
    const add: AddWeight = (name, shape, initializer) => this.addWeight(name, shape, 'float32', initializer);
    const seedOf = (name: string) => Rng.derive(seed, name).seed();
    const stateWidth = this.directions * units;
    this.initialKernel = add('initial_kernel', [features, stateWidth], glorotUniform(seedOf('initial_kernel')));
    this.initialBias = add('initial_bias', [stateWidth], tf.initializers.zeros());
    const inputSize = inputs === 'embedding' ? embeddingSize : null;
    if (inputSize !== null) {
      this.embedding = add('class_embedding', [numClasses, inputSize], tf.initializers.randomUniform({ minval: -0.05, maxval: 0.05, seed: seedOf('class_embedding') }));
    }
    this.cells = addDirectionCells(add, this.options, inputSize);
    if (inputs === 'learned') {
      const prefixes = this.directions === 2 ? ['forward_', 'backward_'] : ['forward_'];
      this.stepInputs = prefixes.map((prefix) => add(`${prefix}step_inputs`, [numClasses, gateCount(this.options.cell) * units], tf.initializers.zeros()));
    }
    this.outputKernel = add('output_kernel', [stateWidth, 1], glorotUniform(seedOf('output_kernel')));
    this.outputBias = add('output_bias', [1], tf.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return [(inputShape as tf.Shape)[0], this.options.numClasses];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const features = Array.isArray(inputs) ? inputs[0] : inputs;
      const initial = dense(features, this.initialKernel.read() as tf.Tensor2D, this.initialBias.read() as tf.Tensor1D);
      // (A split into one piece would fail in its gradient: tfjs's SplitV gradient expects several.)
      const initialStates = this.directions === 1 ? [initial] : tf.split(initial, this.directions, 1);
      // Every class step's hidden states, [classes, batch, hidden] per direction side by side.
      const { parts, reverseLast } = fusedActive() ? this.fusedSteps(initialStates) : { parts: [this.cellSteps(initialStates)], reverseLast: false };
      // The shared Linear(directions·hidden → 1) on every class step: [classes, batch, ·] → scores [batch, classes].
      return dense(parts, this.outputKernel.read() as tf.Tensor2D, this.outputBias.read() as tf.Tensor1D, { swap: true, merge: true, reverseLast });
    });
  }

  /** The per-step cell ops (every backend). */
  private cellSteps(initialStates: tf.Tensor[]): tf.Tensor {
    const { cell: kind, numClasses } = this.options;
    const classInputs = this.embedding ? (this.embedding.read() as tf.Tensor2D) : null;
    const runs = this.cells.map((cell, direction) => {
      const projected = projectInputs(cell, classInputs);
      const learned = this.stepInputs[direction];
      const perStep = classInputs
        ? tf.split(projected, numClasses, 0)
        : learned
          ? tf.split(tf.add(projected, learned.read()), numClasses, 0)
          : new Array<tf.Tensor>(numClasses).fill(projected);
      return runDirection(kind, cell, perStep, zeroState(kind, initialStates[direction]), { reverse: direction === 1 });
    });
    return tf.stack(
      Array.from({ length: numClasses }, (_, step) => tf.concat(runs.map((run) => run.outputs[step]), 1)),
      0,
    );
  }

  /**
   * The same recurrence as one kernel per direction (native backend). LSTM: BlockLSTM, where what a class step adds
   * to the gates (its embedding through the input kernel, or its learned input) becomes the input kernel's row of
   * that class, read by a one-hot step input; with zero inputs the cell has no input at all (width 0). GRU: the
   * GRU sequence kernel over each class step's projected input, shared by the batch. The directions' hidden states
   * [classes, batch, hidden] in order, the LSTM's backward one in its run's order (last class first: `reverseLast`).
   */
  private fusedSteps(initialStates: tf.Tensor[]): { parts: tf.Tensor[]; reverseLast: boolean } {
    const { cell: kind, numClasses } = this.options;
    const batch = initialStates[0].shape[0];
    const runs = this.cells.map((cell, direction) => {
      const perClass = this.embedding ? tf.matMul(this.embedding.read(), cell.kernel!.read()) : (this.stepInputs[direction]?.read() ?? null);
      const recurrent = cell.recurrentKernel.read();
      if (kind === 'gru') {
        const width = recurrent.shape[1] as number;
        const x = tf.add(perClass ?? tf.zeros([numClasses, width]), cell.bias.read()).reshape([numClasses, 1, width]);
        return gruSequence(x, initialStates[direction], recurrent, cell.recurrentBias!.read(), { reverse: direction === 1, real: null }).states;
      }
      const w = perClass ? tf.concat([perClass, recurrent], 0) : recurrent;
      const x = perClass ? classOneHots(numClasses, batch, direction === 1) : tf.zeros([numClasses, batch, 0]);
      return blockLstm(x, initialStates[direction], tf.zeros(initialStates[direction].shape), w, cell.bias.read());
    });
    // The LSTM's backward direction ran the classes last to first.
    return { parts: runs, reverseLast: kind === 'lstm' && runs.length === 2 };
  }
}

/** [steps, batch, steps]: step k reads class k (reversed: class steps − 1 − k), the same for every row. */
function classOneHots(steps: number, batch: number, reversed: boolean): tf.Tensor3D {
  const values = new Float32Array(steps * batch * steps);
  for (let k = 0; k < steps; k++) {
    const cls = reversed ? steps - 1 - k : k;
    for (let row = 0; row < batch; row++) values[(k * batch + row) * steps + cls] = 1;
  }
  return tf.tensor3d(values, [steps, batch, steps]);
}

tf.serialization.registerClass(LabelDecoder);
