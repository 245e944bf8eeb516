import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import {
  checkOrder,
  compareNames,
  groupBy,
  groupKey,
  limitPatientSlices,
  limitSliceIndices,
  makeBatches,
  orderSlices,
  sliceNormal,
  type OrderableSlice,
} from '../../src/data/patients.ts';

/** A stack of slices `spacing` mm apart along the normal of `orientation`, shifted in-plane by `shift(k)`. */
function stack(orientation: [number, number, number, number, number, number], count: number, shift: (k: number) => number): OrderableSlice[] {
  const normal = sliceNormal(orientation);
  const column = orientation.slice(3) as [number, number, number];
  return Array.from({ length: count }, (_, k) => ({
    name: `rank${k}`,
    meta: {
      imageOrientation: orientation,
      imagePosition: [0, 1, 2].map((i) => 5 * k * normal[i] + shift(k) * column[i]) as [number, number, number],
    },
  }));
}

describe('orderSlices', () => {
  it('orders by position along the normal, whatever the file order and names', () => {
    const slices = stack([1, 0, 0, 0, 1, 0], 6, () => 0).map((s, k) => ({ ...s, name: `z${(k * 7) % 6}.dcm` }));
    const shuffled = new Rng(3).shuffle([...slices]);
    const { order, rule } = orderSlices(shuffled);
    expect(rule).toBe('position');
    expect(order.map((i) => shuffled[i])).toEqual(slices);
  });

  it('orders an oblique stack along its normal even where plain z runs backwards', () => {
    const tilt = Math.PI / 6;
    const oblique: [number, number, number, number, number, number] = [1, 0, 0, 0, Math.cos(tilt), -Math.sin(tilt)];
    const slices = stack(oblique, 5, (k) => 20 * k);
    // z decreases with rank here: sorting by z alone would reverse the stack.
    expect(slices[4].meta.imagePosition![2]).toBeLessThan(slices[0].meta.imagePosition![2]);
    const shuffled = new Rng(9).shuffle([...slices]);
    const { order } = orderSlices(shuffled);
    expect(order.map((i) => shuffled[i].name)).toEqual(['rank0', 'rank1', 'rank2', 'rank3', 'rank4']);
    expect(checkOrder(order.map((i) => shuffled[i]), 'position')).toMatchObject({ duplicatePositions: 0, spacing: { min: expect.closeTo(5, 6) } });
  });

  it('falls back to InstanceNumber, then to natural file-name order', () => {
    const byInstance = [3, 1, 2].map((n) => ({ name: `f${4 - n}`, meta: { instanceNumber: n } }));
    const result = orderSlices(byInstance);
    expect(result.rule).toBe('instance');
    expect(result.order.map((i) => byInstance[i].meta.instanceNumber)).toEqual([1, 2, 3]);

    // One slice without a position demotes the whole patient to the next rule.
    const partial = [
      { name: 'b', meta: { instanceNumber: 2, imagePosition: [0, 0, 0] as [number, number, number], imageOrientation: [1, 0, 0, 0, 1, 0] as [number, number, number, number, number, number] } },
      { name: 'a', meta: { instanceNumber: 1 } },
    ];
    expect(orderSlices(partial).rule).toBe('instance');

    const names = ['slice10.png', 'slice2.png', 'slice1.png'].map((name) => ({ name, meta: {} }));
    const byName = orderSlices(names);
    expect(byName.rule).toBe('name');
    expect(byName.order.map((i) => names[i].name)).toEqual(['slice1.png', 'slice2.png', 'slice10.png']);
    expect(compareNames('a2', 'a10')).toBeLessThan(0);
  });

  it('reports duplicate positions and instance numbers out of position order', () => {
    const slices = stack([1, 0, 0, 0, 1, 0], 3, () => 0);
    const doubled = [...slices, { ...slices[1], name: 'dup' }].map((s, i) => ({ ...s, meta: { ...s.meta, instanceNumber: [1, 3, 2, 4][i] } }));
    const { order, rule } = orderSlices(doubled);
    const check = checkOrder(order.map((i) => doubled[i]), rule);
    expect(check.duplicatePositions).toBe(1);
    expect(check.instanceMonotonic).toBe(false);
  });
});

describe('grouping', () => {
  it('groups by study or by series', () => {
    const metas = [
      { studyInstanceUid: 'S1', seriesInstanceUid: 'A' },
      { studyInstanceUid: 'S1', seriesInstanceUid: 'B' },
      { studyInstanceUid: 'S2', seriesInstanceUid: 'C' },
      { studyInstanceUid: 'S1', seriesInstanceUid: 'A' },
    ];
    const byStudy = groupBy(metas, (m) => groupKey(m, 'study')!);
    const bySeries = groupBy(metas, (m) => groupKey(m, 'series')!);
    expect([...byStudy].map(([k, v]) => [k, v.length])).toEqual([['S1', 3], ['S2', 1]]);
    expect([...bySeries].map(([k, v]) => [k, v.length])).toEqual([['A', 2], ['B', 1], ['C', 1]]);
    expect(groupKey({}, 'study')).toBeUndefined();
  });
});

describe('maxSlices', () => {
  it('crop keeps the central run; resample keeps evenly spaced slices with both ends', () => {
    expect(limitSliceIndices(10, 4, 'crop')).toEqual([3, 4, 5, 6]);
    expect(limitSliceIndices(9, 4, 'crop')).toEqual([2, 3, 4, 5]);
    expect(limitSliceIndices(10, 4, 'resample')).toEqual([0, 3, 6, 9]);
    expect(limitSliceIndices(5, 1, 'resample')).toEqual([2]);
    expect(limitSliceIndices(3, 4, 'crop')).toEqual([0, 1, 2]);
    expect(() => limitSliceIndices(3, 0, 'crop')).toThrow(/maxSlices/);
  });

  it('slice targets follow the kept slices', () => {
    const patient = {
      id: 'p',
      slices: Array.from({ length: 7 }, (_, i) => ({ path: `s${i}` })),
      sliceTargets: Array.from({ length: 7 }, (_, i) => Float32Array.of(i)),
    };
    for (const rule of ['crop', 'resample'] as const) {
      const limited = limitPatientSlices(patient, 3, rule);
      expect(limited.slices.map((s) => Number(s.path.slice(1)))).toEqual(limited.sliceTargets!.map((t) => t[0]));
    }
    expect(limitPatientSlices(patient, 3, 'resample').slices.map((s) => s.path)).toEqual(['s0', 's3', 's6']);
  });
});

describe('makeBatches', () => {
  const counts = [5, 40, 6, 38, 7, 41, 4, 39];
  const order = [0, 1, 2, 3, 4, 5, 6, 7];

  it('chunks the order, optionally dropping a short last batch', () => {
    expect(makeBatches(order.slice(0, 5), counts, { batchSize: 2, dropLast: false })).toEqual([[0, 1], [2, 3], [4]]);
    expect(makeBatches(order.slice(0, 5), counts, { batchSize: 2, dropLast: true })).toEqual([[0, 1], [2, 3]]);
  });

  it('buckets similar slice counts into a batch, reproducibly', () => {
    const bucketed = makeBatches(order, counts, { batchSize: 4, dropLast: false, bucketing: { window: 2, rng: new Rng(1) } });
    const spreads = bucketed.map((batch) => Math.max(...batch.map((i) => counts[i])) - Math.min(...batch.map((i) => counts[i])));
    expect(Math.max(...spreads)).toBeLessThanOrEqual(3);
    expect(bucketed.flat().sort()).toEqual(order);
    expect(makeBatches(order, counts, { batchSize: 4, dropLast: false, bucketing: { window: 2, rng: new Rng(1) } })).toEqual(bucketed);
  });
});
