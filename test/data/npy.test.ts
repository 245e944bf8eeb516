import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeNpy, encodeNpy, readNpy, writeNpy } from '../../src/data/npy.ts';

/** Files written by numpy's np.save (scripts/make-npy-fixtures.py) and their values. */
const fixtures = join(import.meta.dirname, '..', 'fixtures', 'npy');
const expected = JSON.parse(readFileSync(join(fixtures, 'values.json'), 'utf8')).arrays as Record<string, { shape: number[]; values: number[] }>;
const fixture = (name: string) => readFileSync(join(fixtures, `${name}.npy`));

describe('npy', () => {
  it('writes the bytes np.save writes for the same float32 array (so np.load reads our files)', () => {
    const { shape, values } = expected['float32-3x5'];
    expect(Buffer.from(encodeNpy(Float32Array.from(values), shape)).equals(fixture('float32-3x5'))).toBe(true);
    expect(Buffer.from(encodeNpy(new Float32Array(0), [0, 8])).equals(fixture('float32-0x8'))).toBe(true);
    expect(Buffer.from(encodeNpy(Float32Array.from(expected['float32-2x3x2'].values), [2, 3, 2])).equals(fixture('float32-2x3x2'))).toBe(true);
  });

  it('aligns the data to 64 bytes and writes a 1-D shape as a Python 1-tuple', () => {
    for (const shape of [[7], [1, 1], [40, 2048], [3, 4, 5]]) {
      const bytes = encodeNpy(new Float32Array(shape.reduce((n, d) => n * d, 1)), shape);
      const headerLength = bytes[8] | (bytes[9] << 8);
      expect((10 + headerLength) % 64).toBe(0);
      expect(bytes[10 + headerLength - 1]).toBe(0x0a);
    }
    expect(Buffer.from(encodeNpy(new Float32Array(7), [7])).toString('latin1')).toContain("'shape': (7,), }");
  });

  it('round-trips float32 values exactly, through a file too', () => {
    const data = Float32Array.from({ length: 6 * 33 }, (_, i) => Math.sin(i) * 1e3);
    data[5] = -0;
    data[6] = Number.POSITIVE_INFINITY;
    data[7] = Number.NaN;
    const decoded = decodeNpy(encodeNpy(data, [6, 33]));
    expect(decoded.shape).toEqual([6, 33]);
    expect(Array.from(decoded.data)).toEqual(Array.from(data));
    expect(Object.is(decoded.data[5], -0)).toBe(true);

    const path = join(mkdtempSync(join(tmpdir(), 'sliceseq-npy-')), 'a.npy');
    writeNpy(path, data, [6, 33]);
    expect(Array.from(readNpy(path).data)).toEqual(Array.from(data));
  });

  it('reads what numpy wrote: float32, big-endian float32, float64 (narrowed), 3-D and empty arrays', () => {
    for (const name of ['float32-3x5', 'float32-big-endian-2x3', 'float64-4', 'float32-2x3x2', 'float32-0x8']) {
      const array = readNpy(join(fixtures, `${name}.npy`));
      expect(array.shape, name).toEqual(expected[name].shape);
      expect(Array.from(array.data), name).toEqual(Array.from(Float32Array.from(expected[name].values)));
    }
  });

  it('refuses other dtypes, Fortran order, bad magic, wrong data length and a bad shape, naming the file', () => {
    expect(() => readNpy(join(fixtures, 'int32-3.npy'))).toThrow(/int32-3\.npy: dtype '<i4' is not supported/);
    expect(() => readNpy(join(fixtures, 'float32-fortran-3x2.npy'))).toThrow(/Fortran-order arrays are not supported/);
    expect(() => decodeNpy(new TextEncoder().encode('just some text here'), 'x.npy')).toThrow(/x\.npy: not an \.npy file/);
    const truncated = fixture('float32-3x5').subarray(0, 150);
    expect(() => decodeNpy(truncated, 'cut.npy')).toThrow(/cut\.npy: shape \(3, 5\) of '<f4' needs 60 data bytes, the file has 22/);
    expect(() => encodeNpy(new Float32Array(5), [2, 3])).toThrow(/shape \[2, 3\] holds 6 values, the data 5/);
    expect(() => encodeNpy(new Float32Array(0), [-1])).toThrow(/non-negative integers/);
  });
});
