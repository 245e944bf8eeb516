import type * as tfType from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import { LabelDecoder, type DecoderInputKind, type LabelDecoderArgs } from '../../src/models/layers/label-decoder.ts';
import type { CellKind } from '../../src/models/layers/recurrent-cells.ts';
import { useBackend } from '../helpers/backend.ts';

let tf: typeof tfType;
beforeAll(async () => {
  tf = await useBackend();
});

type Matrix = number[][];
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const matVec = (v: number[], m: Matrix) => m[0].map((_, j) => v.reduce((sum, x, i) => sum + x * m[i][j], 0));
const add = (a: number[], b: number[]) => a.map((x, i) => x + b[i]);
const part = (v: number[], index: number, parts: number) => v.slice((index * v.length) / parts, ((index + 1) * v.length) / parts);

/**
 * An independent float64 reference of the decoder as specified: h0 = Linear(feature) per direction, c0 = 0, step
 * inputs zero, the class embedding or the learned step input, forward over classes 0..K-1, backward over K-1..0, and class k's score =
 * Linear(concat(forward h after step k, backward h after step k)).
 */
function referenceScores(kind: CellKind, feature: number[], w: Record<string, number[] | Matrix>, classes: number, bidirectional: boolean): number[] {
  const directions = bidirectional ? ['forward', 'backward'] : ['forward'];
  const initial = add(matVec(feature, w.initial_kernel as Matrix), w.initial_bias as number[]);
  const hidden = directions.map((direction, d) => {
    let h = part(initial, d, directions.length);
    let c = h.map(() => 0);
    const outputs: number[][] = [];
    for (let step = 0; step < classes; step++) {
      const k = d === 0 ? step : classes - 1 - step;
      const kernel = w[`${direction}_kernel`] as Matrix | undefined;
      const stepInputs = w[`${direction}_step_inputs`] as Matrix | undefined;
      const x = kernel ? matVec((w.class_embedding as Matrix)[k], kernel) : stepInputs ? stepInputs[k] : (w[`${direction}_bias`] as number[]).map(() => 0);
      const xb = add(x, w[`${direction}_bias`] as number[]);
      const hu = matVec(h, w[`${direction}_recurrent_kernel`] as Matrix);
      if (kind === 'lstm') {
        const z = add(xb, hu);
        const [i, f, g, o] = [0, 1, 2, 3].map((gate) => part(z, gate, 4));
        c = c.map((cj, j) => sigmoid(f[j]) * cj + sigmoid(i[j]) * Math.tanh(g[j]));
        h = c.map((cj, j) => sigmoid(o[j]) * Math.tanh(cj));
      } else {
        const hr = add(hu, w[`${direction}_recurrent_bias`] as number[]);
        const [xr, xz, xn] = [0, 1, 2].map((gate) => part(xb, gate, 3));
        const [rr, rz, rn] = [0, 1, 2].map((gate) => part(hr, gate, 3));
        h = h.map((hj, j) => {
          const r = sigmoid(xr[j] + rr[j]);
          const z = sigmoid(xz[j] + rz[j]);
          const n = Math.tanh(xn[j] + r * rn[j]);
          return (1 - z) * n + z * hj;
        });
      }
      outputs[k] = h;
    }
    return outputs;
  });
  return Array.from({ length: classes }, (_, k) => {
    const joined = hidden.flatMap((outputs) => outputs[k]);
    return matVec(joined, w.output_kernel as Matrix)[0] + (w.output_bias as number[])[0];
  });
}

function decoderLayer(overrides: Partial<LabelDecoderArgs>): LabelDecoder {
  return new LabelDecoder({ cell: 'lstm', hidden: 3, bidirectional: true, numClasses: 4, inputs: 'zeros', embeddingSize: 2, seed: 11, ...overrides });
}

function weightsByName(layer: LabelDecoder): Record<string, number[] | Matrix> {
  return Object.fromEntries(layer.weights.map((weight) => [weight.originalName.split('/').pop()!, weight.read().arraySync() as number[] | Matrix]));
}

function scores(layer: LabelDecoder, features: tfType.Tensor): number[][] {
  return tf.tidy(() => (layer.apply(features) as tfType.Tensor).arraySync() as number[][]);
}

describe('label decoder', () => {
  const variants: Array<[CellKind, boolean, DecoderInputKind]> = [
    ['lstm', true, 'zeros'],
    ['gru', true, 'zeros'],
    ['lstm', false, 'embedding'],
    ['gru', true, 'embedding'],
    ['lstm', true, 'learned'],
    ['gru', false, 'learned'],
  ];
  test.each(variants)('%s (bidirectional %s, %s inputs) matches an independent step-by-step reference', (cell, bidirectional, inputs) => {
    const layer = decoderLayer({ cell, bidirectional, inputs });
    const rng = new Rng(3);
    if (inputs === 'learned') {
      // They start at zero; give them values so the reference checks where they enter.
      tf.tidy(() => layer.apply(tf.zeros([1, 5])) as tfType.Tensor);
      for (const weight of layer.weights.filter((w) => w.originalName.endsWith('step_inputs'))) {
        weight.write(tf.tensor(Array.from({ length: weight.shape.reduce((a, b) => a! * b!, 1)! }, () => rng.normal()), weight.shape as number[]));
      }
    }
    const features = Array.from({ length: 2 }, () => Array.from({ length: 5 }, () => rng.normal()));
    const input = tf.tensor2d(features);
    const actual = scores(layer, input);
    const w = weightsByName(layer);
    features.forEach((feature, row) => {
      const expected = referenceScores(cell, feature, w, 4, bidirectional);
      actual[row].forEach((score, k) => expect(score, `row ${row} class ${k}`).toBeCloseTo(expected[k], 5));
    });
    input.dispose();
    layer.dispose();
  });

  test('zero inputs give the cell no input kernel; embedding inputs do', () => {
    const names = (inputs: 'zeros' | 'embedding') => {
      const layer = decoderLayer({ inputs });
      tf.tidy(() => layer.apply(tf.zeros([1, 5])) as tfType.Tensor);
      return layer.weights.map((weight) => weight.originalName.split('/').pop());
    };
    expect(names('zeros')).not.toContain('forward_kernel');
    expect(names('embedding')).toEqual(expect.arrayContaining(['class_embedding', 'forward_kernel', 'backward_kernel']));
  });

  test('learned inputs: one vector per class step and direction, zero at the start (the reference design), trained by the loss', () => {
    const features = tf.tensor2d([[0.3, -0.2, 0.5, 0.1, -0.4], [1, 0, -1, 0.5, 0.2]]);
    for (const cell of ['lstm', 'gru'] as const) {
      const zeros = decoderLayer({ cell, inputs: 'zeros' });
      const learned = decoderLayer({ cell, inputs: 'learned' });
      expect(scores(learned, features)).toEqual(scores(zeros, features));
      const stepInputs = learned.weights.filter((w) => w.originalName.endsWith('step_inputs'));
      expect(stepInputs.map((w) => [w.originalName.split('/').pop(), w.shape])).toEqual([
        ['forward_step_inputs', [4, (cell === 'lstm' ? 4 : 3) * 3]],
        ['backward_step_inputs', [4, (cell === 'lstm' ? 4 : 3) * 3]],
      ]);
      const variables = stepInputs.map((w) => w.read() as tfType.Variable);
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(learned.apply(features) as tfType.Tensor)) as tfType.Scalar, variables);
      for (const variable of variables) {
        // Every class step of every direction gets its own gradient.
        const perStep = tf.tidy(() => tf.max(tf.abs(grads[variable.name]), 1).arraySync() as number[]);
        perStep.forEach((g, k) => expect(g, `${cell} ${variable.name} step ${k}`).toBeGreaterThan(0));
      }
      tf.dispose([value, ...Object.values(grads)]);
      zeros.dispose();
      learned.dispose();
    }
    features.dispose();
  });

  test('the patient feature seeds every class score', () => {
    for (const cell of ['lstm', 'gru'] as const) {
      const layer = decoderLayer({ cell, numClasses: 6 });
      const base = tf.tensor2d([[0.3, -0.2, 0.5, 0.1, -0.4]]);
      const nudged = tf.tensor2d([[0.3, -0.2, 0.5, 0.1, -0.1]]);
      const [a, b] = [scores(layer, base)[0], scores(layer, nudged)[0]];
      a.forEach((score, k) => expect(Math.abs(score - b[k]), `${cell} class ${k}`).toBeGreaterThan(1e-4));
      tf.dispose([base, nudged]);
      layer.dispose();
    }
  });

  test('steps follow the class order: a forward decoder scores the first K classes the same with more classes after them', () => {
    // Weights do not depend on the number of classes (zero inputs), so the same seed gives the same decoder.
    const features = tf.tensor2d([[0.5, -1, 0.25, 2, -0.5], [1, 1, -1, 0, 0.3]]);
    const short = decoderLayer({ bidirectional: false, numClasses: 3 });
    const long = decoderLayer({ bidirectional: false, numClasses: 5 });
    const [a, b] = [scores(short, features), scores(long, features)];
    a.forEach((row, r) => row.forEach((score, k) => expect(b[r][k]).toBeCloseTo(score, 6)));
    // …and the later classes are scored differently: each step is a new state, not a copy of the first.
    expect(Math.abs(b[0][4] - b[0][0])).toBeGreaterThan(1e-4);
    tf.dispose(features);
    short.dispose();
    long.dispose();
  });

  test('the backward direction runs from the last class: reversed classes with swapped directions give reversed scores', () => {
    // Reversing the class embeddings and swapping the two directions' weights (and the halves of the initial and
    // output maps) describes the same decoder with the class order reversed, so the scores must come out reversed.
    const layer = decoderLayer({ inputs: 'embedding', numClasses: 4 });
    const mirrored = decoderLayer({ inputs: 'embedding', numClasses: 4, seed: 99 });
    const features = tf.tensor2d([[0.2, -0.7, 1.1, 0.4, -0.3]]);
    const original = scores(layer, features)[0];
    scores(mirrored, features); // builds it
    const w = Object.fromEntries(layer.weights.map((weight) => [weight.originalName.split('/').pop()!, weight.read()]));
    const swapped = mirrored.weights.map((weight) => {
      const name = weight.originalName.split('/').pop()!;
      if (name === 'class_embedding') return tf.reverse(w.class_embedding, 0);
      if (name === 'initial_kernel') return tf.concat(tf.split(w.initial_kernel, 2, 1).reverse(), 1);
      if (name === 'initial_bias') return tf.concat(tf.split(w.initial_bias, 2, 0).reverse(), 0);
      if (name === 'output_kernel') return tf.concat(tf.split(w.output_kernel, 2, 0).reverse(), 0);
      if (name.startsWith('forward_')) return w[name.replace('forward_', 'backward_')];
      if (name.startsWith('backward_')) return w[name.replace('backward_', 'forward_')];
      return w[name];
    });
    mirrored.setWeights(swapped);
    const reversed = scores(mirrored, features)[0];
    original.forEach((score, k) => expect(reversed[3 - k]).toBeCloseTo(score, 5));
    expect(new Set(original.map((score) => score.toFixed(4))).size).toBe(4);
    tf.dispose([features, ...swapped.filter((t) => !Object.values(w).includes(t))]);
    layer.dispose();
    mirrored.dispose();
  });
});
