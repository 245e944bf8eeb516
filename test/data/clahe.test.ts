import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { claheUint8 } from '../../bench/clahe-typescript.ts';
import { OpenCvClaheRunner } from '../../src/data/transforms/clahe.ts';
import { transforms } from '../../src/data/transforms/index.ts';
import type { Slice } from '../../src/data/types.ts';

interface ClaheCase {
  name: string;
  rows: number;
  cols: number;
  clipLimit: number;
  tileGridSize: [number, number];
  input: number[];
  expected: number[];
}

// Made by scripts/make-clahe-fixtures.py with Debian's python3-opencv (cv2.createCLAHE(...).apply).
const fixture = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/clahe/cases.json'), 'utf8')) as {
  opencv: string;
  cases: ClaheCase[];
};

describe('CLAHE against OpenCV (cv2.createCLAHE fixtures)', () => {
  const differing = (out: ArrayLike<number>, expected: readonly number[]) =>
    Array.from(out).reduce((n, v, i) => n + (v === expected[i] ? 0 : 1), 0);

  it.each(fixture.cases.map((c) => [c.name, c] as const))('%s: the transform equals cv2', async (_name, c) => {
    const input: Slice = { rows: c.rows, cols: c.cols, channels: 1, data: Float32Array.from(c.input, (v) => v / 255), meta: { source: 'mem://x', format: 'dicom' } };
    const transform = transforms.create({ name: 'clahe', clipLimit: c.clipLimit, tileGridSize: c.tileGridSize }, {});
    const out = await transform.apply(input, undefined);
    const codes = Array.from(out.data, (v) => Math.round(v * 255));
    expect(differing(codes, c.expected), `pixels differing from cv2 in ${c.name}`).toBe(0);
  });

  // The transform runs the native kernel where `npm run native` built it; the WebAssembly build must equal cv2 too.
  it.each(fixture.cases.map((c) => [c.name, c] as const))('%s: OpenCV WebAssembly (without native kernels) equals cv2', async (_name, c) => {
    const input: Slice = { rows: c.rows, cols: c.cols, channels: 1, data: Float32Array.from(c.input, (v) => v / 255), meta: { source: 'mem://x', format: 'dicom' } };
    const out = await new OpenCvClaheRunner(c.clipLimit, c.tileGridSize, null).apply(input);
    expect(differing(Array.from(out.data, (v) => Math.round(v * 255)), c.expected), `pixels differing from cv2 in ${c.name}`).toBe(0);
  });

  it.each(fixture.cases.map((c) => [c.name, c] as const))('%s: the TypeScript contender (bench) equals cv2', (_name, c) => {
    const [tilesX, tilesY] = c.tileGridSize;
    const out = claheUint8(Uint8Array.from(c.input), c.rows, c.cols, c.clipLimit, { tilesX, tilesY });
    expect(differing(out, c.expected), `pixels differing from cv2 in ${c.name}`).toBe(0);
  });

  it('the transform takes OpenCV parameters and works per channel on [0, 1] data', async () => {
    const c = fixture.cases.find((x) => x.name === 'ct-64-clip2-8x8')!;
    const three = Float32Array.from({ length: c.input.length * 3 }, (_, i) => c.input[Math.floor(i / 3)] / 255);
    const slice: Slice = { rows: c.rows, cols: c.cols, channels: 3, data: three, meta: { source: 'mem://ct', format: 'dicom' } };
    const transform = transforms.create({ name: 'clahe', clipLimit: 2, tileGridSize: [8, 8] }, {});
    const out = await transform.apply(slice, undefined);
    for (let k = 0; k < 3; k++) {
      expect(Array.from({ length: c.input.length }, (_, i) => Math.round(out.data[i * 3 + k] * 255))).toEqual(c.expected);
    }
  });

  it('quantises as np.round(x * 255) does on float32 data: the float32 product, then half to even', async () => {
    // float32 values whose product with 255 rounds (in float32) to exact ties 0.5, 1.5, 2.5, 3.5, although in
    // double they lie just above; numpy (checked with python3) makes codes 0, 2, 2, 4 of them.
    const ties = [0.0019607844296842813, 0.0058823530562222, 0.009803921915590763, 0.013725490309298038];
    const numpyCodes = [0, 2, 2, 4];
    const image = (values: number[]): Slice => ({
      rows: 16,
      cols: 16,
      channels: 1,
      data: Float32Array.from({ length: 256 }, (_, i) => values[(i + (i >> 4)) % 4]),
      meta: { source: 'mem://ties', format: 'dicom' },
    });
    const transform = transforms.create({ name: 'clahe', clipLimit: 2, tileGridSize: [2, 2] }, {});
    const fromTies = await transform.apply(image(ties), undefined);
    const fromCodes = await transform.apply(image(numpyCodes.map((k) => k / 255)), undefined);
    expect(Array.from(fromTies.data)).toEqual(Array.from(fromCodes.data));
  });

  it('rejects parameters OpenCV rejects', () => {
    expect(() => transforms.create({ name: 'clahe', clipLimit: -1 }, {})).toThrow(/clipLimit/);
    expect(() => transforms.create({ name: 'clahe', tileGridSize: [0, 8] }, {})).toThrow(/tileGridSize/);
  });
});
