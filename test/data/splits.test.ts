import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import { holdout, iterativeStratification, kFold, splitItems, type SplitItem } from '../../src/data/splits.ts';

/** 200 patients, 4 labels of prevalence 40%, 20%, 8%, 3% (correlated: label 3 implies label 0). */
function synthetic(count = 200, seed = 1): SplitItem[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, (_, i) => {
    const rare = rng.float() < 0.03;
    return {
      id: `patient-${i}`,
      targets: [rare || rng.float() < 0.4 ? 1 : 0, rng.float() < 0.2 ? 1 : 0, rng.float() < 0.08 ? 1 : 0, rare ? 1 : 0],
    };
  });
}

const positives = (items: SplitItem[], ids: string[], label: number) => {
  const set = new Set(ids);
  return items.filter((item) => set.has(item.id) && item.targets![label] > 0).length;
};

describe('kFold', () => {
  const items = synthetic();

  it('puts every patient in exactly one validation fold and trains on the rest', () => {
    const folds = kFold(items, { k: 5, seed: 3 });
    const validated = folds.flatMap((fold) => fold.val);
    expect(validated.sort()).toEqual(items.map((i) => i.id).sort());
    expect(new Set(validated).size).toBe(items.length);
    for (const fold of folds) {
      expect(fold.train.length + fold.val.length).toBe(items.length);
      expect(fold.train.some((id) => fold.val.includes(id))).toBe(false);
      expect(fold.val.length).toBeGreaterThanOrEqual(38);
      expect(fold.val.length).toBeLessThanOrEqual(42);
    }
  });

  it('balances every label across folds (each fold within one positive of its share)', () => {
    const folds = kFold(items, { k: 5, seed: 3 });
    for (let label = 0; label < 4; label++) {
      const total = items.filter((item) => item.targets![label] > 0).length;
      for (const fold of folds) expect(Math.abs(positives(items, fold.val, label) - total / 5)).toBeLessThanOrEqual(1);
    }
  });

  it('is seeded and independent of the input order', () => {
    const a = kFold(items, { k: 4, seed: 9 });
    expect(kFold(new Rng(2).shuffle([...items]), { k: 4, seed: 9 })).toEqual(a);
    expect(kFold(items, { k: 4, seed: 10 })).not.toEqual(a);
  });

  it('keeps a group (e.g. the series of one study) in one fold', () => {
    const grouped = items.map((item, i) => ({ ...item, group: `study-${Math.floor(i / 3)}` }));
    const folds = kFold(grouped, { k: 5, seed: 1 });
    const foldOf = new Map(folds.flatMap((fold) => fold.val.map((id) => [id, fold.index] as const)));
    for (let i = 0; i + 2 < grouped.length; i += 3) {
      expect(new Set([0, 1, 2].map((j) => foldOf.get(grouped[i + j].id))).size).toBe(1);
    }
  });

  it('rejects bad input', () => {
    expect(() => kFold(items.slice(0, 2), { k: 3, seed: 1 })).toThrow(/3 folds need at least 3 patients/);
    expect(() => kFold(items, { k: 1, seed: 1 })).toThrow(/k must be an integer ≥ 2/);
    expect(() => kFold([items[0], items[0], items[1]], { k: 2, seed: 1 })).toThrow(/duplicate patient id 'patient-0'/);
  });

  it('works from dataset patients, labelled or not', () => {
    const patients = items.slice(0, 10).map((item) => ({ id: item.id, slices: [{ path: 'x' }] }));
    expect(kFold(splitItems(patients), { k: 2, seed: 1 }).map((f) => f.val.length)).toEqual([5, 5]);
  });
});

describe('holdout', () => {
  it('splits train/val/test by the fractions, stratified, disjoint', () => {
    const items = synthetic(300, 4);
    const split = holdout(items, { train: 0.7, val: 0.15, test: 0.15, seed: 2 });
    expect([split.train.length, split.val.length, split.test.length]).toEqual([210, 45, 45]);
    expect(new Set([...split.train, ...split.val, ...split.test]).size).toBe(300);
    for (let label = 0; label < 4; label++) {
      const total = items.filter((item) => item.targets![label] > 0).length;
      expect(Math.abs(positives(items, split.test, label) - total * 0.15)).toBeLessThanOrEqual(1);
    }
    expect(holdout(items, { train: 0.8, val: 0.2, test: 0, seed: 2 }).test).toEqual([]);
    expect(() => holdout(items, { train: 0.8, val: 0.3, test: 0, seed: 2 })).toThrow(/sum to 1/);
  });
});

describe('iterativeStratification', () => {
  it('gives every rare label to the subsets in proportion', () => {
    const labels = Array.from({ length: 20 }, (_, i) => [i < 4, i % 2 === 0]);
    const subsets = iterativeStratification(labels, [0.5, 0.5], new Rng(1));
    for (const j of [0, 1]) {
      expect(labels.filter((row, i) => row[0] && subsets[i] === j)).toHaveLength(2);
      expect(labels.filter((row, i) => row[1] && subsets[i] === j)).toHaveLength(5);
      expect(subsets.filter((s) => s === j)).toHaveLength(10);
    }
  });
});
