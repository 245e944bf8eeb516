import { describe, expect, it } from 'vitest';
import { decodeDensePixel, parseDenseOrdinalGroup } from '../../src/labels/dense-ordinal.ts';
import { confusionFromHistograms, DenseOrdinalAccumulator, tuneThresholdsForQwk } from '../../src/metrics/dense-ordinal.ts';
import { dicePerGrade, kappaFromConfusion, quadraticWeightedKappa } from '../../src/metrics/ordinal.ts';
import { close, loadFixture } from './fixtures.ts';

interface Case {
  name: string;
  shape: [number, number, number, number];
  levels: number;
  ignoreValue: number;
  thresholds: number[][];
  truth: number[];
  outputs: number[];
  expected: Array<{ pixels: number; pixel_mae: number; accuracy: number; grade_mae: number; qwk: number | null; dice: Array<number | null>; confusion: number[][] }>;
}

/** The fixture's maps through the decoding and counting that evaluateDense does, pixel by pixel. */
function accumulate(c: Case): DenseOrdinalAccumulator {
  const types = c.shape[3];
  const classes = Array.from({ length: types }, (_, t) => `type${t}`);
  const group = parseDenseOrdinalGroup({ kind: 'dense-ordinal', name: 'damage', classes, levels: c.levels, ignoreValue: c.ignoreValue });
  const accumulator = new DenseOrdinalAccumulator(classes, c.levels);
  const values = new Float32Array(types);
  const grades = new Int32Array(types);
  for (let pixel = 0; pixel < c.truth.length / types; pixel++) {
    decodeDensePixel(group, Float32Array.from(c.outputs.slice(pixel * types, (pixel + 1) * types)), c.thresholds, values, grades);
    for (let t = 0; t < types; t++) {
      const truth = c.truth[pixel * types + t];
      if (truth !== c.ignoreValue) accumulator.add(t, truth, values[t], grades[t]);
    }
  }
  return accumulator;
}

describe('dense-ordinal map metrics match scikit-learn', () => {
  it.each(loadFixture<Case>('dense-ordinal').map((c) => [c.name, c] as const))('%s', (_, c) => {
    const scores = Object.values(accumulate(c).scores({ warn: () => undefined }));
    scores.forEach((s, t) => {
      const want = c.expected[t];
      expect(s.pixels).toBe(want.pixels);
      expect(s.pixel_mae).toBeCloseTo(want.pixel_mae, 6);
      expect(s.accuracy).toBeCloseTo(want.accuracy, 12);
      expect(s.grade_mae).toBeCloseTo(want.grade_mae, 12);
      expect(close(s.qwk, want.qwk), `qwk ${s.qwk} vs ${want.qwk}`).toBe(true);
      expect(s.confusion).toEqual(want.confusion);
      s.dice.forEach((d, k) => expect(close(d, want.dice[k]), `dice of grade ${k}: ${d} vs ${want.dice[k]}`).toBe(true));
    });
  });
});

describe('grade confusion helpers', () => {
  it('QWK from a confusion matrix equals QWK from the grades', () => {
    const truth = [0, 1, 2, 3, 3, 2, 1, 0, 2];
    const predicted = [0, 2, 2, 3, 1, 2, 0, 0, 3];
    const confusion = [
      [2, 0, 0, 0],
      [1, 0, 1, 0],
      [0, 0, 2, 1],
      [0, 1, 0, 1],
    ];
    expect(kappaFromConfusion(confusion)).toBeCloseTo(quadraticWeightedKappa(truth, predicted, 4)!, 12);
    expect(dicePerGrade(confusion)).toEqual([4 / 5, 0, 4 / 6, 2 / 4]);
  });

  it('histograms give the exact confusion of thresholds away from bin edges', () => {
    const accumulator = new DenseOrdinalAccumulator(['a'], 3);
    const pixels: Array<[number, number]> = [[0, 0.11], [0, 0.73], [1, 1.21], [1, 0.33], [2, 1.77], [2, 2.41]];
    for (const [truth, value] of pixels) accumulator.add(0, truth, value, 0);
    expect(confusionFromHistograms(accumulator.histograms[0], [0.5, 1.5], accumulator.binWidth)).toEqual([
      [1, 1, 0],
      [1, 1, 0],
      [0, 0, 2],
    ]);
  });

  it('tuning moves thresholds to where the grades separate, raising QWK', () => {
    // Outputs biased upwards by 0.5 to 0.69: the fixed thresholds grade too high, tuned ones recover every grade.
    const accumulator = new DenseOrdinalAccumulator(['a'], 4);
    for (let g = 0; g < 4; g++) for (let i = 0; i < 20; i++) accumulator.add(0, g, g + 0.5 + i * 0.01, 0);
    const start = [0.5, 1.5, 2.5];
    const before = kappaFromConfusion(confusionFromHistograms(accumulator.histograms[0], start, accumulator.binWidth))!;
    const { thresholds, qwk } = tuneThresholdsForQwk(accumulator.histograms[0], start, accumulator.binWidth);
    expect(before).toBeLessThan(1);
    expect(qwk).toBeCloseTo(1, 12);
    thresholds.forEach((t, k) => {
      expect(t).toBeGreaterThan(k + 0.69);
      expect(t).toBeLessThan(k + 1.5);
    });
  });
});
