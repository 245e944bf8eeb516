import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import { OpenCvClaheRunner } from '../../src/data/transforms/clahe.ts';
import { nativeKernels } from '../../src/data/transforms/native-kernels.ts';
import { OpenCvResizer } from '../../src/data/transforms/resize.ts';
import { applyWindows, type WindowChoice } from '../../src/data/transforms/window.ts';
import type { Slice } from '../../src/data/types.ts';

const native = nativeKernels();
const required = process.env.CI === 'true' || process.env.SLICESEQ_REQUIRE_NATIVE === '1';

describe('the native preprocessing kernels on CI', () => {
  // .ci/run installs libopencv-imgproc-dev and builds them with `npm run native`: a silent fall-back must fail CI.
  it.runIf(required)('are built and load', () => {
    expect(native, 'the native kernels are not built: `npm run native` found no OpenCV headers or failed').toBeDefined();
    expect(native!.opencvVersion).toMatch(/^4\.\d+\.\d+/);
  });
});

const slice = (rows: number, cols: number, channels: number, data: Float32Array): Slice => ({
  rows,
  cols,
  channels,
  data,
  meta: { source: 'mem://native-kernels', format: 'dicom' },
});

/** Indices where the two arrays hold different floats (bit for bit: NaN equals NaN, −0 differs from 0). */
function differences(a: Float32Array, b: Float32Array): number[] {
  expect(a.length).toBe(b.length);
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) out.push(i);
  return out;
}

const shapes: Array<[number, number]> = [
  [1, 1],
  [7, 13],
  [64, 64],
  [100, 37],
  [224, 224],
];

describe.skipIf(!native)('native preprocessing kernels (Debian OpenCV) — skipped unless `npm run native` built them (needs libopencv-imgproc-dev)', () => {
  const kernels = native!;

  it('window: the same floats as the JavaScript loop, NaN, infinities, −0 and window edges included', () => {
    const rng = new Rng(11);
    const choices: WindowChoice[] = ['brain', 'subdural', 'bone', 'soft', { center: 0.3, width: 1e-3 }, { center: -2e4, width: 7 }];
    for (const [rows, cols] of shapes) {
      const data = Float32Array.from({ length: rows * cols }, () => (rng.float() < 0.5 ? Math.round(rng.float() * 4000 - 1100) : rng.float() * 4000 - 1100));
      // Values at and beside the edges of every window, and the special values.
      const specials = [0, -0, 40, 80, -60, 0.3 - 5e-4, 0.3 + 5e-4, 1400, -800, 2000, NaN, Infinity, -Infinity, 1e-45, 3.4e38];
      specials.forEach((value, i) => i < data.length && (data[(i * 7919) % data.length] = value));
      for (const count of [1, 3, choices.length]) {
        const input = slice(rows, cols, 1, data);
        const ours = applyWindows(input, choices.slice(0, count), kernels);
        const plain = applyWindows(input, choices.slice(0, count), null);
        expect([ours.rows, ours.cols, ours.channels]).toEqual([rows, cols, count]);
        expect(differences(ours.data, plain.data), `${rows}×${cols}, ${count} windows`).toEqual([]);
      }
    }
  });

  it('CLAHE: the same bytes as OpenCV WebAssembly, ties of the 8-bit rounding and every parameter kind included', async () => {
    const rng = new Rng(12);
    const parameters: Array<[number, [number, number]]> = [
      [40, [8, 8]],
      [3, [8, 8]],
      [0, [4, 4]],
      [2, [3, 5]],
      [1, [1, 1]],
    ];
    for (const [rows, cols] of shapes) {
      for (const channels of [1, 3, 4]) {
        // Smooth structure, noise, exact codes, exact ties (k + 0.5) / 255 and float error just outside [0, 1].
        const data = Float32Array.from({ length: rows * cols * channels }, (_, i) => {
          const kind = i % 5;
          if (kind === 0) return Math.fround((Math.floor(rng.float() * 255) + 0.5) / 255);
          if (kind === 1) return Math.floor(rng.float() * 256) / 255;
          return Math.min(1, Math.max(0, 0.5 + 0.4 * Math.sin(i / 97) + 0.1 * (rng.float() - 0.5)));
        });
        if (data.length > 2) [data[0], data[1], data[2]] = [1 + 1e-7, -1e-7, 1];
        for (const [clipLimit, grid] of parameters) {
          if (grid[0] > cols || grid[1] > rows) continue;
          const input = slice(rows, cols, channels, data);
          const ours = await new OpenCvClaheRunner(clipLimit, grid, kernels).apply(input);
          const wasm = await new OpenCvClaheRunner(clipLimit, grid, null).apply(input);
          expect(differences(ours.data, wasm.data), `${rows}×${cols}×${channels}, clip ${clipLimit}, grid ${grid}`).toEqual([]);
        }
      }
    }
  });

  it('CLAHE: a value outside [0, 1] is the same error, naming the file and the lowest such channel', async () => {
    const data = new Float32Array(16 * 16 * 3).fill(0.5);
    data[200 * 3 + 2] = 1.5;
    data[250 * 3 + 1] = NaN;
    const input = slice(16, 16, 3, data);
    const message = async (runner: OpenCvClaheRunner) => (await runner.apply(input).then(() => 'no error', (error: Error) => error.message));
    const ours = await message(new OpenCvClaheRunner(2, [4, 4], kernels));
    expect(ours).toMatch(/mem:\/\/native-kernels/);
    expect(ours).toMatch(/channel 1/);
    expect(ours).toBe(await message(new OpenCvClaheRunner(2, [4, 4], null)));
  });

  it('resize: the same floats as OpenCV WebAssembly for nearest, linear and area, up and down, 1 to 6 channels', async () => {
    const rng = new Rng(13);
    const cases: Array<[number, number, number, number]> = [
      [64, 64, 224, 224],
      [224, 224, 64, 64],
      [100, 37, 224, 50],
      [7, 9, 13, 5],
      [1, 1, 3, 2],
    ];
    for (const [rows, cols, toRows, toCols] of cases) {
      for (const channels of [1, 3, 4, 6]) {
        const data = Float32Array.from({ length: rows * cols * channels }, () => rng.float() * 3000 - 1000);
        for (const kernel of ['nearest', 'linear', 'area'] as const) {
          const input = slice(rows, cols, channels, data);
          const ours = await new OpenCvResizer(toRows, toCols, kernel, kernels).apply(input);
          const wasm = await new OpenCvResizer(toRows, toCols, kernel, null).apply(input);
          expect(differences(ours.data, wasm.data), `${rows}×${cols}×${channels} → ${toRows}×${toCols}, ${kernel}`).toEqual([]);
        }
      }
    }
  });

  it('refuses arrays too short for the shape it is told, naming the argument', () => {
    const out = new Float32Array(4 * 4 * 3);
    expect(() => kernels.window(new Float32Array(15), 16, Float64Array.of(0), Float64Array.of(1), 1, out)).toThrow(/hu/);
    expect(() => kernels.window(new Float32Array(16), 16, Float64Array.of(0, 1), Float64Array.of(1), 2, out)).toThrow(/widths/);
    expect(() => kernels.clahe(new Float32Array(48), 4, 4, 3, 2, 2, 2, new Float32Array(47))).toThrow(/out/);
    expect(() => kernels.resize(new Float32Array(48), 4, 4, 3, 8, 8, 1, out)).toThrow(/out/);
    expect(() => kernels.resize(new Float32Array(48), 4, 4, 3, 2, 2, 1.5, out)).toThrow(/interpolation/);
  });
});
