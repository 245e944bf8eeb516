import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../core/rng.ts';
import { glorotUniform, lstmForgetBias, recurrentKernelInitializer, type Initializer } from './initializers.ts';

/**
 * LSTM and GRU cell math as plain tf ops, shared by the slice encoder and the label decoder. Written out rather
 * than using tfjs-layers' RNN so that (1) the initial state can come from a tensor inside a serializable layer,
 * (2) padded steps keep the previous state, which makes a backward pass start at each sequence's last real step,
 * and (3) the input projection of all steps is one matMul instead of one per step.
 *
 * Gate order follows PyTorch: LSTM i f g o; GRU r z n with the reset gate applied to the recurrent term of n.
 */
export const cellKinds = ['lstm', 'gru'] as const;
export type CellKind = (typeof cellKinds)[number];

export function gateCount(kind: CellKind): number {
  return kind === 'lstm' ? 4 : 3;
}

export interface CellState {
  /** [batch, units] */
  h: tf.Tensor;
  /** LSTM cell state [batch, units]; null for GRU. */
  c: tf.Tensor | null;
}

export interface CellVariables {
  /** Input kernel [inputSize, gates·units]; null when the cell's inputs are always zero. */
  kernel: tf.LayerVariable | null;
  recurrentKernel: tf.LayerVariable;
  /** Input bias [gates·units]. */
  bias: tf.LayerVariable;
  /** GRU's separate recurrent bias (inside the reset gate's product); null for LSTM. */
  recurrentBias: tf.LayerVariable | null;
}

export type AddWeight = (name: string, shape: number[], initializer: Initializer) => tf.LayerVariable;

/** Creates one direction's cell weights; every random initializer is seeded from `seed` and the weight name. */
export function addCellVariables(add: AddWeight, kind: CellKind, units: number, inputSize: number | null, seed: number, prefix: string): CellVariables {
  const width = gateCount(kind) * units;
  const seedOf = (name: string) => Rng.derive(seed, prefix, name).seed();
  return {
    kernel: inputSize === null ? null : add(`${prefix}kernel`, [inputSize, width], glorotUniform(seedOf('kernel'))),
    recurrentKernel: add(`${prefix}recurrent_kernel`, [units, width], recurrentKernelInitializer(units, seedOf('recurrent_kernel'))),
    bias: add(`${prefix}bias`, [width], kind === 'lstm' ? lstmForgetBias() : tf.initializers.zeros()),
    recurrentBias: kind === 'gru' ? add(`${prefix}recurrent_bias`, [width], tf.initializers.zeros()) : null,
  };
}

/** Options shared by the recurrent layers (slice encoder and label decoder). */
export interface RecurrentOptions {
  cell: CellKind;
  /** The state size: `hidden`, as the encoder and decoder options name it. */
  hidden: number;
  bidirectional: boolean;
  /** Seeds every random initializer of the layer. */
  seed: number;
}

export const recurrentOptionKeys = ['cell', 'hidden', 'bidirectional', 'seed'] as const;

/** Models saved by sliceseq 0.1 name the state size `units`: read it as `hidden`. */
export function withHiddenSize<A extends { hidden: number }>(args: A | (Omit<A, 'hidden'> & { units: number })): A {
  if ('hidden' in args && args.hidden !== undefined) return args as A;
  const { units, ...rest } = args as Omit<A, 'hidden'> & { units: number };
  return { ...rest, hidden: units } as unknown as A;
}

/** One set of cell weights per direction, named `forward_…` and `backward_…`. */
export function addDirectionCells(add: AddWeight, options: RecurrentOptions, inputSize: number | null): CellVariables[] {
  const prefixes = options.bidirectional ? ['forward_', 'backward_'] : ['forward_'];
  return prefixes.map((prefix) => addCellVariables(add, options.cell, options.hidden, inputSize, options.seed, prefix));
}

/** x·W + b for rows of inputs [n, inputSize] → [n, gates·units]; with no input kernel, the bias alone [1, gates·units]. */
export function projectInputs(cell: CellVariables, inputs: tf.Tensor2D | null): tf.Tensor {
  const bias = cell.bias.read();
  if (!cell.kernel || !inputs) return bias.expandDims(0);
  return tf.add(tf.matMul(inputs, cell.kernel.read() as tf.Tensor2D), bias);
}

export function zeroState(kind: CellKind, h: tf.Tensor): CellState {
  return { h, c: kind === 'lstm' ? tf.zerosLike(h) : null };
}

/** One step from the projected input (x·W + b, broadcastable to [batch, gates·units]). */
export function cellStep(kind: CellKind, projected: tf.Tensor, state: CellState, cell: CellVariables): CellState {
  const recurrent = tf.matMul(state.h, cell.recurrentKernel.read());
  if (kind === 'lstm') {
    const [i, f, g, o] = tf.split(tf.add(projected, recurrent), 4, 1);
    const c = tf.add(tf.mul(tf.sigmoid(f), state.c!), tf.mul(tf.sigmoid(i), tf.tanh(g)));
    return { h: tf.mul(tf.sigmoid(o), tf.tanh(c)), c };
  }
  const [xr, xz, xn] = tf.split(projected, 3, 1);
  const [hr, hz, hn] = tf.split(tf.add(recurrent, cell.recurrentBias!.read()), 3, 1);
  const r = tf.sigmoid(tf.add(xr, hr));
  const z = tf.sigmoid(tf.add(xz, hz));
  const n = tf.tanh(tf.add(xn, tf.mul(r, hn)));
  return { h: tf.add(n, tf.mul(z, tf.sub(state.h, n))), c: null };
}

/** Where `real` [batch, 1] is 0 the state is carried over unchanged, so padded steps leave no trace. */
function keepUnlessReal(next: CellState, previous: CellState, real: tf.Tensor): CellState {
  const blend = (a: tf.Tensor, b: tf.Tensor) => tf.add(b, tf.mul(real, tf.sub(a, b)));
  return { h: blend(next.h, previous.h), c: next.c && previous.c ? blend(next.c, previous.c) : null };
}

export interface DirectionRun {
  /** Hidden state after each step, in step order (not processing order); zero at padded steps. */
  outputs: tf.Tensor[];
  /** State after the last processed real step. */
  final: CellState;
}

/**
 * Runs one direction over per-step projected inputs. `real` (per step, [batch, 1], 1 = real) makes padded steps
 * no-ops, so a reversed run effectively starts at each sequence's last real step with the initial state.
 */
export function runDirection(
  kind: CellKind,
  cell: CellVariables,
  projected: tf.Tensor[],
  initial: CellState,
  options: { reverse: boolean; real?: tf.Tensor[] },
): DirectionRun {
  const outputs: tf.Tensor[] = new Array(projected.length);
  let state = initial;
  for (let k = 0; k < projected.length; k++) {
    const t = options.reverse ? projected.length - 1 - k : k;
    const next = cellStep(kind, projected[t], state, cell);
    if (options.real) {
      state = keepUnlessReal(next, state, options.real[t]);
      outputs[t] = tf.mul(next.h, options.real[t]);
    } else {
      state = next;
      outputs[t] = next.h;
    }
  }
  return { outputs, final: state };
}
