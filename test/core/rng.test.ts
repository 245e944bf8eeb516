import { describe, expect, it } from 'vitest';
import { Rng, hashSeed } from '../../src/core/rng.ts';

const draw = (rng: Rng, n: number) => Array.from({ length: n }, () => rng.float());

describe('Rng', () => {
  it('is reproducible from a seed and differs between seeds', () => {
    expect(draw(new Rng(7), 5)).toEqual(draw(new Rng(7), 5));
    expect(draw(new Rng(7), 5)).not.toEqual(draw(new Rng(8), 5));
  });

  it('derives independent streams by label', () => {
    expect(draw(Rng.derive(1, 'augment', 0), 3)).toEqual(draw(Rng.derive(1, 'augment', 0), 3));
    expect(draw(Rng.derive(1, 'augment', 0), 3)).not.toEqual(draw(Rng.derive(1, 'augment', 1), 3));
    expect(hashSeed(1, 'a', 'bc')).not.toBe(hashSeed(1, 'ab', 'c'));
  });

  it('restores from a saved state exactly', () => {
    const rng = new Rng(42);
    draw(rng, 10);
    const saved = rng.state();
    const expected = draw(rng, 5);
    expect(draw(Rng.fromState(saved), 5)).toEqual(expected);
  });

  it('draws uniform floats in [0,1) with the right mean, integers in range, normals with unit variance', () => {
    const rng = new Rng(3);
    const floats = draw(rng, 20000);
    expect(Math.min(...floats)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...floats)).toBeLessThan(1);
    expect(floats.reduce((a, b) => a + b) / floats.length).toBeCloseTo(0.5, 1);
    const ints = Array.from({ length: 1000 }, () => rng.int(6));
    expect(new Set(ints)).toEqual(new Set([0, 1, 2, 3, 4, 5]));
    const normals = Array.from({ length: 20000 }, () => rng.normal());
    const mean = normals.reduce((a, b) => a + b) / normals.length;
    const variance = normals.reduce((a, b) => a + (b - mean) ** 2, 0) / normals.length;
    expect(mean).toBeCloseTo(0, 1);
    expect(variance).toBeCloseTo(1, 1);
    expect(() => rng.int(0)).toThrow(/positive integer/);
  });

  it('shuffles as a permutation, reproducibly', () => {
    const a = new Rng(5).shuffle([1, 2, 3, 4, 5, 6, 7, 8]);
    expect([...a].sort()).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(new Rng(5).shuffle([1, 2, 3, 4, 5, 6, 7, 8])).toEqual(a);
  });
});
