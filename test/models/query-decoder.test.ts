import type * as tfType from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import { binarySchema, parseLabelSchema, totalOutputWidth } from '../../src/labels/schema.ts';
import { classAttention } from '../../src/models/attention-maps.ts';
import { buildModel } from '../../src/models/build.ts';
import { ClassQueryDecoder, type ClassQueryDecoderArgs, type QueryLevel } from '../../src/models/layers/class-query-decoder.ts';
import { useBackend } from '../helpers/backend.ts';
import { expectFinite, expectNoTensorLeak, expectRoundTrip, mixedSchema, paddedBatch, variablesWithoutGradient } from './model-checks.ts';

let tf: typeof tfType;
beforeAll(async () => {
  tf = await useBackend('wasm');
});

const features = 5;
const slices = 4;
const lengths = [3, 1, 4];

function decoderLayer(overrides: Partial<ClassQueryDecoderArgs> = {}): ClassQueryDecoder {
  return new ClassQueryDecoder({ numClasses: 3, width: 8, heads: 2, layers: 2, feedforward: 12, dropout: 0, selfAttention: true, level: 'patient', seed: 5, ...overrides });
}

function batch(seed = 1, batchLengths = lengths) {
  return paddedBatch(new Rng(seed), batchLengths, slices, [features]);
}

function run(layer: ClassQueryDecoder, inputs: tfType.Tensor, mask: tfType.Tensor): { scores: number[]; attention: number[]; scoreShape: number[]; attentionShape: number[] } {
  if (!layer.built) tf.dispose(layer.apply([inputs, mask]) as tfType.Tensor); // as in a model: applied, then asked
  const out = layer.scoresAndAttention([inputs, mask]);
  const result = { scores: Array.from(out.scores.dataSync()), attention: Array.from(out.attention.dataSync()), scoreShape: out.scores.shape, attentionShape: out.attention.shape };
  tf.dispose([out.scores, out.attention]);
  return result;
}

/** The same batch with the padded slices' values replaced by other garbage. */
function repadded(inputs: tfType.Tensor, mask: tfType.Tensor): tfType.Tensor {
  return tf.tidy(() => tf.where(tf.greater(mask, 0.5).expandDims(2).tile([1, 1, features]), inputs, tf.randomUniform(inputs.shape, -300, 300, 'float32', 9)));
}

describe('class-query decoder layer', () => {
  test.each(['patient', 'slice'] as QueryLevel[])('%s level: padded slices change nothing, get no attention, and real slices share it', (level) => {
    const layer = decoderLayer({ level });
    const { inputs, mask } = batch();
    const a = run(layer, inputs, mask);
    const other = repadded(inputs, mask);
    const b = run(layer, other, mask);
    const classes = 3;
    expect(a.scoreShape).toEqual(level === 'patient' ? [3, classes] : [3, slices, classes]);
    expect(a.attentionShape).toEqual(level === 'patient' ? [3, classes, slices] : [3, slices, classes, slices]);
    a.scores.forEach((score, i) => expect(b.scores[i]).toBeCloseTo(score, 5));
    a.attention.forEach((weight, i) => expect(b.attention[i]).toBeCloseTo(weight, 5));
    // Rows of attention: one per (patient[, query slice], class), over the slices.
    const rows = a.attention.length / slices;
    const perPatient = rows / lengths.length;
    for (let row = 0; row < rows; row++) {
      const patient = Math.floor(row / perPatient);
      const querySlice = level === 'slice' ? Math.floor((row % perPatient) / classes) : 0;
      const weights = a.attention.slice(row * slices, (row + 1) * slices);
      const queryIsPadding = level === 'slice' && querySlice >= lengths[patient];
      weights.forEach((w, s) => (s >= lengths[patient] || queryIsPadding ? expect(Math.abs(w)).toBe(0) : expect(w).toBeGreaterThan(0)));
      if (!queryIsPadding) expect(weights.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 5);
    }
    if (level === 'slice') {
      // Padded slices score zero.
      lengths.forEach((length, p) => {
        for (let s = length; s < slices; s++) for (let c = 0; c < classes; c++) expect(Math.abs(a.scores[(p * slices + s) * classes + c])).toBe(0);
      });
    }
    tf.dispose([inputs, mask, other]);
    layer.dispose();
  });

  test('a patient without real slices gets finite scores from the queries alone', () => {
    const layer = decoderLayer();
    const { inputs, mask } = batch(2, [0, 2]);
    run(layer, inputs, mask);
    const out = layer.scoresAndAttention([inputs, mask]);
    expectFinite(out.scores, 'scores');
    expect(Array.from(out.attention.dataSync()).slice(0, 3 * slices)).toEqual(new Array(3 * slices).fill(0));
    tf.dispose([inputs, mask, out.scores, out.attention]);
    layer.dispose();
  });

  test('without self-attention a class is scored from its own query only; with it, the other queries matter', () => {
    const changes = (selfAttention: boolean) => {
      const layer = decoderLayer({ selfAttention, layers: 1 });
      const { inputs, mask } = batch();
      const before = run(layer, inputs, mask).scores;
      const queries = layer.weights.find((w) => w.originalName.endsWith('class_queries'))!;
      const nudged = tf.tidy(() => tf.add(queries.read(), tf.tensor2d([[0, 0, 0, 0, 0, 0, 0, 0], [0.5, -0.5, 0.5, -0.5, 0.5, -0.5, 0.5, -0.5], [0, 0, 0, 0, 0, 0, 0, 0]])));
      queries.write(nudged);
      const after = run(layer, inputs, mask).scores;
      tf.dispose([inputs, mask, nudged]);
      layer.dispose();
      // Per class: the largest change over patients.
      return [0, 1, 2].map((c) => Math.max(...lengths.map((_, p) => Math.abs(after[p * 3 + c] - before[p * 3 + c]))));
    };
    const [own0, own1, own2] = changes(false);
    expect(own0).toBeLessThan(1e-6);
    expect(own2).toBeLessThan(1e-6);
    expect(own1).toBeGreaterThan(1e-3);
    const [mixed0, , mixed2] = changes(true);
    expect(mixed0).toBeGreaterThan(1e-4);
    expect(mixed2).toBeGreaterThan(1e-4);
  });

  test('at patient level the decoder sees a set: reordering the real slices leaves the scores unchanged', () => {
    const layer = decoderLayer();
    const { inputs, mask } = batch(3, [4, 4, 4]);
    const reversed = tf.reverse(inputs, 1);
    const [a, b] = [run(layer, inputs, mask).scores, run(layer, reversed, mask).scores];
    a.forEach((score, i) => expect(b[i]).toBeCloseTo(score, 5));
    tf.dispose([inputs, mask, reversed]);
    layer.dispose();
  });

  test.each(['patient', 'slice'] as QueryLevel[])('%s level: gradients match central finite differences', (level) => {
    const layer = decoderLayer({ level });
    const { inputs, mask } = batch(4);
    run(layer, inputs, mask); // builds it
    const outputShape = level === 'patient' ? [3, 3] : [3, slices, 3];
    const probe = tf.randomNormal(outputShape, 0, 1, 'float32', 6);
    const loss = (x: tfType.Tensor) => tf.sum(tf.mul(layer.apply([x, mask]) as tfType.Tensor, probe)) as tfType.Scalar;
    const variables = layer.trainableWeights.map((w) => w.read() as tfType.Variable);
    const { grads, value } = tf.variableGrads(() => loss(inputs), variables);
    const inputGrad = tf.grad(loss)(inputs);
    const lossAt = () => tf.tidy(() => loss(inputs).dataSync()[0]);
    const eps = 1e-2;
    const rng = new Rng(7);
    const checked: string[] = [];
    for (const variable of variables) {
      const analytic = grads[variable.name].dataSync();
      const values = variable.dataSync().slice();
      for (let k = 0; k < 2; k++) {
        const i = Math.floor(rng.float() * values.length);
        const at = (delta: number) => {
          const shifted = values.slice();
          shifted[i] += delta;
          variable.assign(tf.tensor(shifted, variable.shape));
          return lossAt();
        };
        const numeric = (at(eps) - at(-eps)) / (2 * eps);
        variable.assign(tf.tensor(values, variable.shape));
        expect(Math.abs(numeric - analytic[i]), `${variable.name}[${i}]: numeric ${numeric}, analytic ${analytic[i]}`).toBeLessThan(1e-2 + 0.02 * Math.abs(analytic[i]));
      }
      checked.push(variable.name);
    }
    expect(checked.length).toBe(layer.trainableWeights.length);
    // …and the gradient with respect to a real slice's features (padded slices get none).
    const inputValues = inputs.dataSync().slice();
    const analyticInput = inputGrad.dataSync();
    for (const i of [0, 6, 12]) {
      const at = (delta: number) => {
        const shifted = inputValues.slice();
        shifted[i] += delta;
        return tf.tidy(() => loss(tf.tensor(shifted, inputs.shape)).dataSync()[0]);
      };
      const numeric = (at(eps) - at(-eps)) / (2 * eps);
      expect(Math.abs(numeric - analyticInput[i]), `input[${i}]`).toBeLessThan(1e-2 + 0.02 * Math.abs(analyticInput[i]));
    }
    const paddedIndex = (1 * slices + 2) * features; // patient 1 has one real slice
    expect(analyticInput[paddedIndex]).toBe(0);
    tf.dispose([inputs, mask, probe, value, inputGrad, ...Object.values(grads)]);
    layer.dispose();
  });

  test('dropout acts in training only, from a seeded stream that checkpoints can save and restore', () => {
    const layer = decoderLayer({ dropout: 0.5 });
    const { inputs, mask } = batch(5);
    const apply = (training: boolean) => tf.tidy(() => Array.from((layer.apply([inputs, mask], { training }) as tfType.Tensor).dataSync()));
    const inference = apply(false);
    expect(apply(false)).toEqual(inference);
    const state = layer.rngState();
    const first = apply(true);
    const second = apply(true);
    expect(first).not.toEqual(inference);
    expect(second).not.toEqual(first);
    layer.setRngState(state);
    expect(apply(true)).toEqual(first);
    tf.dispose([inputs, mask]);
    layer.dispose();
  });

  test('bad options are refused with the reason', () => {
    expect(() => decoderLayer({ width: 10, heads: 4 })).toThrow(/width 10 must be a multiple of heads 4/);
    expect(() => decoderLayer({ dropout: 1 })).toThrow(/dropout/);
  });
});

describe('query decoder in a model', () => {
  const shape = { features };

  test('the registry validates width against heads, naming the field', () => {
    const schema = binarySchema(['a', 'b']);
    expect(() => buildModel({ encoder: { name: 'none' }, decoder: { name: 'query', width: 10, heads: 4 } }, { schema, rng: new Rng(0), inputShape: shape, level: 'patient' })).toThrow(
      /width: width must be a multiple of heads/,
    );
  });

  test.each(['patient', 'slice'] as const)('grouped heads (%s level): binary groups through the queries, the others as before', async (level) => {
    const model = buildModel(
      { encoder: { name: 'gru', hidden: 4, pooling: 'max' }, decoder: { name: 'query', width: 8, heads: 2 }, heads: { ordinal: { neck: 4 } } },
      { schema: mixedSchema, rng: new Rng(1), inputShape: shape, level },
    );
    const { inputs, mask } = batch(6);
    const logits = model.predict([inputs, mask]) as tfType.Tensor;
    expect(logits.shape).toEqual(level === 'patient' ? [3, totalOutputWidth(mixedSchema)] : [3, slices, totalOutputWidth(mixedSchema)]);
    expectFinite(logits, 'logits');
    expect(variablesWithoutGradient(model, [inputs, mask])).toEqual([]);
    expectNoTensorLeak(model, [inputs, mask]);
    (await expectRoundTrip(model, [inputs, mask])).dispose();
    tf.dispose([inputs, mask, logits]);
    model.dispose();
  });

  test("grouped heads at patient level need an encoder pooling the other heads can read ('last' is refused)", () => {
    expect(() =>
      buildModel({ encoder: { name: 'gru', hidden: 4 }, decoder: { name: 'query', width: 8, heads: 2 } }, { schema: mixedSchema, rng: new Rng(1), inputShape: shape, level: 'patient' }),
    ).toThrow(/encoder.pooling: .*heads of liver, damage, injury .*'mean' or 'max' \(got 'last'\)/);
  });

  test('classAttention returns each binary group its class × slice maps, the same after save and load', async () => {
    const schema = parseLabelSchema({
      groups: [
        { kind: 'binary', name: 'bleed', classes: ['epidural', 'subdural'] },
        { kind: 'binary', name: 'fracture', classes: ['skull', 'face', 'jaw'] },
      ],
    });
    const model = buildModel({ encoder: { name: 'gru', hidden: 4 }, decoder: { name: 'query', width: 8, heads: 2 } }, { schema, rng: new Rng(2), inputShape: shape, level: 'patient' });
    const { inputs, mask } = batch(7);
    const maps = classAttention(model, [inputs, mask]);
    expect(maps.map((m) => [m.group, m.classes, m.level, m.attention.shape])).toEqual([
      ['bleed', ['epidural', 'subdural'], 'patient', [3, 2, slices]],
      ['fracture', ['skull', 'face', 'jaw'], 'patient', [3, 3, slices]],
    ]);
    const before = tf.memory().numTensors;
    tf.dispose(classAttention(model, [inputs, mask]).flatMap((m) => [m.attention, m.scores]));
    expect(tf.memory().numTensors).toBe(before);
    const loaded = await expectRoundTrip(model, [inputs, mask]);
    const reloaded = classAttention(loaded, [inputs, mask]);
    maps.forEach((m, g) => expect(Array.from(reloaded[g].attention.dataSync())).toEqual(Array.from(m.attention.dataSync())));
    const plain = buildModel({ encoder: { name: 'gru', hidden: 4 }, decoder: { name: 'lstm', hidden: 4 } }, { schema, rng: new Rng(2), inputShape: shape, level: 'patient' });
    expect(() => classAttention(plain, [inputs, mask])).toThrow(/no class-query decoder/);
    // The logits beside the maps are the model's own.
    const logits = model.predict([inputs, mask]) as tfType.Tensor;
    const joined = tf.concat(maps.map((m) => m.scores), 1);
    Array.from(joined.dataSync()).forEach((value, i) => expect(value).toBeCloseTo(logits.dataSync()[i], 5));
    tf.dispose([inputs, mask, logits, joined, ...[...maps, ...reloaded].flatMap((m) => [m.attention, m.scores])]);
    [model, loaded, plain].forEach((m) => m.dispose());
  });
});

describe('query decoder learning', () => {
  test('learns to put a class on the slice that shows it: attention there, scores right', () => {
    // Class c shows as feature c = +3 on one random slice of the patient; every other value is small noise.
    const rng = new Rng(31);
    const [patients, sliceCount, classes] = [48, 6, 3];
    const values = new Float32Array(patients * sliceCount * features);
    const labels = new Float32Array(patients * classes);
    const where: number[][] = [];
    for (let p = 0; p < patients; p++) {
      for (let i = 0; i < sliceCount * features; i++) values[p * sliceCount * features + i] = 0.3 * rng.normal();
      where.push(
        Array.from({ length: classes }, (_, c) => {
          if (rng.float() < 0.5) return -1;
          const s = Math.floor(rng.float() * sliceCount);
          values[(p * sliceCount + s) * features + c] = 3;
          labels[p * classes + c] = 1;
          return s;
        }),
      );
    }
    const inputs = tf.tensor3d(values, [patients, sliceCount, features]);
    const mask = tf.ones([patients, sliceCount]);
    const targets = tf.tensor2d(labels, [patients, classes]);
    const model = buildModel(
      { encoder: { name: 'none' }, decoder: { name: 'query', width: 16, heads: 2, dropout: 0 } },
      { schema: binarySchema(['a', 'b', 'c']), rng: new Rng(32), inputShape: { features }, level: 'patient' },
    );
    const optimizer = tf.train.adam(0.01);
    const lossOf = () => tf.losses.sigmoidCrossEntropy(targets, model.apply([inputs, mask], { training: true }) as tfType.Tensor) as tfType.Scalar;
    for (let step = 0; step < 150; step++) tf.dispose(optimizer.minimize(lossOf, true)!);
    const [map] = classAttention(model, [inputs, mask]);
    const attention = map.attention.arraySync() as number[][][];
    const probabilities = tf.tidy(() => tf.sigmoid(map.scores).arraySync() as number[][]);
    let onLesion = 0;
    let positives = 0;
    let correct = 0;
    where.forEach((slices, p) =>
      slices.forEach((s, c) => {
        correct += Number((probabilities[p][c] > 0.5) === s >= 0);
        if (s < 0) return;
        positives += 1;
        onLesion += attention[p][c][s];
      }),
    );
    expect(correct / (patients * classes)).toBeGreaterThan(0.95);
    // Even attention would give the lesion's slice 1/6; after these steps it holds about half (0.53 on wasm).
    expect(onLesion / positives).toBeGreaterThan(0.4);
    tf.dispose([inputs, mask, targets, map.attention, map.scores]);
    optimizer.dispose();
    model.dispose();
  });
});
