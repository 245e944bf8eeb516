import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { transforms } from '../../src/data/transforms/index.ts';
import { OpenCvResizer } from '../../src/data/transforms/resize.ts';
import type { Slice } from '../../src/data/types.ts';

interface ResizeCase {
  name: string;
  rows: number;
  cols: number;
  channels: number;
  kernel: string;
  to: [number, number];
  input: number[];
  expected: number[];
}

// Made by scripts/make-resize-fixtures.py with Debian's python3-opencv (cv2.resize on float32 arrays).
const fixture = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/resize/cases.json'), 'utf8')) as {
  opencv: string;
  cases: ResizeCase[];
};

/** The largest |ours − cv2| relative to the image's value range. */
function worstRelativeError(out: Float32Array, expected: readonly number[]): number {
  const range = Math.max(...expected) - Math.min(...expected) || 1;
  return expected.reduce((worst, v, i) => Math.max(worst, Math.abs(out[i] - Math.fround(v)) / range), 0);
}

describe('resize against OpenCV (cv2.resize fixtures)', () => {
  it.each(fixture.cases.map((c) => [c.name, c] as const))('%s equals cv2 to float rounding', async (_name, c) => {
    const input: Slice = { rows: c.rows, cols: c.cols, channels: c.channels, data: Float32Array.from(c.input), meta: { source: 'mem://x', format: 'dicom' } };
    const out = await transforms.create({ name: 'resize', size: c.to, kernel: c.kernel }, {}).apply(input, undefined);
    expect([out.rows, out.cols, out.channels]).toEqual([...c.to, c.channels]);
    expect(worstRelativeError(out.data, c.expected)).toBeLessThan(1e-6);
  });

  // The transform runs the native kernel where `npm run native` built it (nearest, linear, area); WebAssembly too.
  it.each(fixture.cases.map((c) => [c.name, c] as const))('%s: OpenCV WebAssembly (without native kernels) equals cv2 to float rounding', async (_name, c) => {
    const input: Slice = { rows: c.rows, cols: c.cols, channels: c.channels, data: Float32Array.from(c.input), meta: { source: 'mem://x', format: 'dicom' } };
    const out = await new OpenCvResizer(c.to[0], c.to[1], c.kernel as ConstructorParameters<typeof OpenCvResizer>[2], null).apply(input);
    expect(worstRelativeError(out.data, c.expected)).toBeLessThan(1e-6);
  });

  it('keeps the overshoot of cubic kernels, as cv2 does on float data', async () => {
    const c = fixture.cases.find((x) => x.kernel === 'cubic' && x.channels === 1)!;
    const input: Slice = { rows: c.rows, cols: c.cols, channels: 1, data: Float32Array.from(c.input), meta: { source: 'mem://hu', format: 'dicom' } };
    const out = await transforms.create({ name: 'resize', size: c.to, kernel: 'cubic' }, {}).apply(input, undefined);
    expect(Math.max(...out.data)).toBeGreaterThan(Math.max(...input.data));
  });

  it('lists the kernels it takes and refuses others', () => {
    for (const kernel of ['nearest', 'linear', 'cubic', 'area', 'lanczos4', 'mitchell', 'lanczos2', 'lanczos3']) {
      expect(() => transforms.create({ name: 'resize', kernel }, {})).not.toThrow();
    }
    expect(() => transforms.create({ name: 'resize', kernel: 'bicubic' }, {})).toThrow(/kernel/);
  });
});
