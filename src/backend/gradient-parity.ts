import * as tf from '@tensorflow/tfjs';
import { Rng } from '../core/rng.ts';
import type { ConvPad } from './wasm-kernels/conv-geometry.ts';
import { registerWasmTrainingKernels } from './wasm-training-kernels.ts';

/** One convolution whose gradients are compared; depthwise cases read `outChannels` as the channel multiplier. */
export interface ConvCase {
  name: string;
  op: 'conv2d' | 'depthwise';
  batch: number;
  height: number;
  width: number;
  inChannels: number;
  outChannels: number;
  filter: [number, number];
  strides: [number, number];
  pad: ConvPad;
  /** Above 1, differentiated through the equivalent zero-spread filter: tfjs refuses dilated conv gradients. */
  dilations: [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

export interface GradientError {
  /** `input` / `filter` for conv cases, the weight's name for the model check. */
  gradient: string;
  /** ‖candidate − reference‖ / ‖reference‖. */
  relativeError: number;
  referenceNorm: number;
}

export interface ParityResult {
  name: string;
  errors: GradientError[];
  pass: boolean;
}

export interface GradientParityReport {
  reference: string;
  candidate: string;
  tolerance: number;
  cases: ParityResult[];
  /** The tiny layers model (conv, max-pool, depthwise, dense) trained through model.trainableWeights. */
  model: ParityResult | null;
  pass: boolean;
}

export interface GradientParityOptions {
  cases?: ConvCase[];
  /** Largest relative error that passes (default 1e-4). */
  tolerance?: number;
  seed?: number;
  /** Also compare a tiny layers model's weight gradients (default true). */
  includeModel?: boolean;
  /** The backend checked against cpu (default wasm); 'tensorflow' must have been loaded by initBackend. */
  candidate?: ParityBackend;
}

export type ParityBackend = 'wasm' | 'tensorflow';

function convCase(name: string, op: ConvCase['op'], shape: Omit<ConvCase, 'name' | 'op' | 'strides' | 'pad' | 'dilations'> & Partial<ConvCase>): ConvCase {
  return { name, op, strides: [1, 1], pad: 'same', dilations: [1, 1], ...shape };
}

/** Strides 1 and 2, same/valid/explicit/numeric pads, dilation 2, non-square filters and images, batch 1 and >1. */
export const defaultConvCases: ConvCase[] = [
  convCase('conv 3x3 s1 same b1', 'conv2d', { batch: 1, height: 8, width: 8, inChannels: 3, outChannels: 4, filter: [3, 3] }),
  convCase('conv 3x3 s1 valid 7x9', 'conv2d', { batch: 2, height: 7, width: 9, inChannels: 2, outChannels: 5, filter: [3, 3], pad: 'valid' }),
  convCase('conv 3x3 s2 same 9x8', 'conv2d', { batch: 2, height: 9, width: 8, inChannels: 3, outChannels: 6, filter: [3, 3], strides: [2, 2] }),
  convCase('conv 3x3 s2 valid 11x10', 'conv2d', { batch: 3, height: 11, width: 10, inChannels: 4, outChannels: 3, filter: [3, 3], strides: [2, 2], pad: 'valid' }),
  convCase('conv 3x2 s2x1 same', 'conv2d', { batch: 2, height: 8, width: 7, inChannels: 3, outChannels: 4, filter: [3, 2], strides: [2, 1] }),
  convCase('conv 1x5 s1 valid 6x12', 'conv2d', { batch: 2, height: 6, width: 12, inChannels: 2, outChannels: 3, filter: [1, 5], pad: 'valid' }),
  convCase('conv 1x1 s2 same', 'conv2d', { batch: 2, height: 8, width: 8, inChannels: 4, outChannels: 8, filter: [1, 1], strides: [2, 2] }),
  convCase('conv 3x3 d2 same 10x9', 'conv2d', { batch: 2, height: 10, width: 9, inChannels: 3, outChannels: 4, filter: [3, 3], dilations: [2, 2] }),
  convCase('conv 3x2 d2 valid b1', 'conv2d', { batch: 1, height: 9, width: 11, inChannels: 2, outChannels: 3, filter: [3, 2], pad: 'valid', dilations: [2, 2] }),
  convCase('conv 3x3 s2 explicit pad', 'conv2d', {
    batch: 2, height: 8, width: 9, inChannels: 2, outChannels: 3, filter: [3, 3], strides: [2, 2],
    pad: [[0, 0], [1, 2], [0, 1], [0, 0]],
  }),
  convCase('conv 5x5 s1 pad 1', 'conv2d', { batch: 2, height: 9, width: 7, inChannels: 3, outChannels: 2, filter: [5, 5], pad: 1 }),
  convCase('conv 3x3 s1 same 16x16 8→16', 'conv2d', { batch: 4, height: 16, width: 16, inChannels: 8, outChannels: 16, filter: [3, 3] }),
  convCase('dw 3x3 s1 same', 'depthwise', { batch: 2, height: 8, width: 8, inChannels: 3, outChannels: 1, filter: [3, 3] }),
  convCase('dw 3x3 s2 valid ×2 9x10', 'depthwise', { batch: 2, height: 9, width: 10, inChannels: 4, outChannels: 2, filter: [3, 3], strides: [2, 2], pad: 'valid' }),
  convCase('dw 3x2 s2 same ×3 b1', 'depthwise', { batch: 1, height: 7, width: 9, inChannels: 2, outChannels: 3, filter: [3, 2], strides: [2, 2] }),
  convCase('dw 1x5 s1 valid ×2', 'depthwise', { batch: 3, height: 5, width: 11, inChannels: 2, outChannels: 2, filter: [1, 5], pad: 'valid' }),
  convCase('dw 3x3 d2 same', 'depthwise', { batch: 2, height: 9, width: 9, inChannels: 3, outChannels: 1, filter: [3, 3], dilations: [2, 2] }),
  convCase('dw 3x3 s2 pad 1 ceil', 'depthwise', { batch: 2, height: 8, width: 8, inChannels: 3, outChannels: 1, filter: [3, 3], strides: [2, 2], pad: 1, dimRoundingMode: 'ceil' }),
];

function seededTensor(shape: number[], rng: Rng, scale = 1): tf.Tensor {
  const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < values.length; i++) values[i] = rng.normal() * scale;
  return tf.tensor(values, shape, 'float32');
}

/**
 * [fh,fw,…] → [(fh−1)·dh+1, (fw−1)·dw+1, …] with the taps dh/dw apart and zeros between. A convolution with
 * the spread filter equals the dilated one, and unlike it can be differentiated: tfjs refuses gradients of
 * dilated convolutions on every backend.
 */
export function spreadFilter(filter: tf.Tensor4D, [dh, dw]: [number, number]): tf.Tensor4D {
  if (dh === 1 && dw === 1) return filter;
  return tf.tidy(() => {
    const [fh, fw, inner, outer] = filter.shape;
    const gaps = tf.pad(filter.reshape([fh, 1, fw, 1, inner * outer]), [[0, 0], [0, dh - 1], [0, 0], [0, dw - 1], [0, 0]]);
    return gaps.reshape([fh * dh, fw * dw, inner, outer]).slice([0, 0, 0, 0], [(fh - 1) * dh + 1, (fw - 1) * dw + 1, inner, outer]) as tf.Tensor4D;
  });
}

function forward(c: ConvCase, x: tf.Tensor4D, filter: tf.Tensor4D): tf.Tensor4D {
  const spread = spreadFilter(filter, c.dilations);
  return c.op === 'conv2d'
    ? tf.conv2d(x, spread, c.strides, c.pad, 'NHWC', 1, c.dimRoundingMode)
    : tf.depthwiseConv2d(x, spread, c.strides, c.pad as 'same' | 'valid' | number, 'NHWC', 1, c.dimRoundingMode);
}

/** Gradients of Σ w ⊙ conv(x, filter) on the active backend, w, x and filter drawn from `seed`. */
export function convCaseGradients(c: ConvCase, seed: number): { input: Float32Array; filter: Float32Array } {
  const rng = Rng.derive(seed, 'gradient-parity', c.name);
  return tf.tidy(() => {
    const x = seededTensor([c.batch, c.height, c.width, c.inChannels], rng) as tf.Tensor4D;
    const filter = seededTensor([c.filter[0], c.filter[1], c.inChannels, c.outChannels], rng, 1 / Math.sqrt(c.filter[0] * c.filter[1] * c.inChannels)) as tf.Tensor4D;
    const outShape = forward(c, x, filter).shape;
    const weights = seededTensor(outShape, rng);
    const [dx, dFilter] = tf.grads((input: tf.Tensor, kernel: tf.Tensor) => tf.sum(tf.mul(forward(c, input as tf.Tensor4D, kernel as tf.Tensor4D), weights)))([x, filter]);
    return { input: dx.dataSync() as Float32Array, filter: dFilter.dataSync() as Float32Array };
  });
}

/** A conv → max-pool → depthwise → strided conv → dense model, small enough for the cpu backend. */
function tinyModel(): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ name: 'conv_a', inputShape: [12, 10, 2], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }),
      tf.layers.maxPooling2d({ name: 'pool', poolSize: 2 }),
      tf.layers.depthwiseConv2d({ name: 'depthwise', kernelSize: [3, 2], depthMultiplier: 2, padding: 'same', activation: 'relu' }),
      tf.layers.conv2d({ name: 'conv_b', filters: 6, kernelSize: [2, 3], strides: 2, padding: 'valid', activation: 'relu' }),
      tf.layers.flatten({ name: 'flatten' }),
      tf.layers.dense({ name: 'dense', units: 3 }),
    ],
  });
}

/** Weight gradients of a seeded tiny model's mean squared error, keyed by weight name, on the active backend. */
export function tinyModelGradients(seed: number): Map<string, Float32Array> {
  const rng = Rng.derive(seed, 'gradient-parity', 'model');
  const model = tinyModel();
  try {
    const weights = model.getWeights().map((w) => {
      const fanIn = w.shape.length > 1 ? w.shape.slice(0, -1).reduce((a, b) => a * b, 1) : 1;
      return seededTensor(w.shape, rng, 1 / Math.sqrt(fanIn));
    });
    model.setWeights(weights);
    tf.dispose(weights);
    const x = seededTensor([3, 12, 10, 2], rng);
    const target = seededTensor([3, 3], rng);
    const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const { value, grads } = tf.variableGrads(() => tf.losses.meanSquaredError(target, model.predict(x) as tf.Tensor) as tf.Scalar, variables);
    const byName = new Map(model.trainableWeights.map((w, i) => [w.originalName, grads[variables[i].name].dataSync() as Float32Array]));
    tf.dispose([x, target, value, grads]);
    return byName;
  } finally {
    model.dispose();
  }
}

/** ‖candidate − reference‖ / ‖reference‖ in float64; 0 when both are zero. */
export function relativeError(candidate: Float32Array, reference: Float32Array): { relativeError: number; referenceNorm: number } {
  if (candidate.length !== reference.length) throw new Error(`relativeError: lengths differ (${candidate.length} vs ${reference.length})`);
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < reference.length; i++) {
    diff += (candidate[i] - reference[i]) ** 2;
    norm += reference[i] ** 2;
  }
  const referenceNorm = Math.sqrt(norm);
  if (referenceNorm === 0) return { relativeError: diff === 0 ? 0 : Number.POSITIVE_INFINITY, referenceNorm };
  return { relativeError: Math.sqrt(diff) / referenceNorm, referenceNorm };
}

/** Switches tfjs to `backend` without touching select.ts's record of the user's choice (restored afterwards). */
async function activate(backend: 'cpu' | ParityBackend): Promise<void> {
  if (backend === 'wasm') {
    await import('@tensorflow/tfjs-backend-wasm');
    registerWasmTrainingKernels();
  }
  if (backend === 'tensorflow' && !tf.findBackend('tensorflow')) {
    throw new Error("gradient parity: the tensorflow backend is not loaded (initBackend('tensorflow') first)");
  }
  if (!(await tf.setBackend(backend))) throw new Error(`gradient parity: the ${backend} backend failed to initialise`);
}

function compare(name: string, candidate: Map<string, Float32Array>, reference: Map<string, Float32Array>, tolerance: number): ParityResult {
  const errors = [...reference].map(([gradient, values]) => {
    const got = candidate.get(gradient);
    if (!got) throw new Error(`gradient parity: ${name} has no '${gradient}' gradient on the candidate backend`);
    return { gradient, ...relativeError(got, values) };
  });
  return { name, errors, pass: errors.every((e) => e.relativeError < tolerance) };
}

/**
 * One-step gradient parity: the gradients of a scalar loss w.r.t. input and filter for each convolution case
 * (and a tiny model's weights) on the candidate backend against the cpu backend, from the same seeded inputs.
 * Restores whichever backend was active before.
 */
export async function checkGradientParity(options: GradientParityOptions = {}): Promise<GradientParityReport> {
  const { cases = defaultConvCases, tolerance = 1e-4, seed = 7, includeModel = true, candidate = 'wasm' } = options;
  const reference = 'cpu';
  const previous = tf.engine().backendName as string | null;
  const run = async (backend: 'cpu' | ParityBackend) => {
    await activate(backend);
    const convs = cases.map((c) => {
      const grads = convCaseGradients(c, seed);
      return new Map([['input', grads.input], ['filter', grads.filter]]);
    });
    return { convs, model: includeModel ? tinyModelGradients(seed) : null };
  };
  try {
    const expected = await run(reference);
    const actual = await run(candidate);
    const caseResults = cases.map((c, i) => compare(c.name, actual.convs[i], expected.convs[i], tolerance));
    const model = expected.model && actual.model ? compare('tiny layers model', actual.model, expected.model, tolerance) : null;
    return { reference, candidate, tolerance, cases: caseResults, model, pass: caseResults.every((r) => r.pass) && (model?.pass ?? true) };
  } finally {
    if (previous && tf.getBackend() !== previous) await tf.setBackend(previous);
  }
}
