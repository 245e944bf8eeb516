import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../helpers/backend.ts';
import { BufferPool, packIntoSlab, SlabPool } from '../../src/data/host-buffers.ts';
import { forEachBatch, PatientLoader } from '../../src/data/loader.ts';
import { binarySchema } from '../../src/labels/schema.ts';
import type { Slice } from '../../src/data/types.ts';

let tf: Awaited<ReturnType<typeof useBackend>>;
beforeAll(async () => {
  // The CPU backend keeps a tensor's values as the very array it was made from: the strictest case for reuse.
  tf = await useBackend('cpu');
});

const MiB = 1 << 20;

describe('slabs', () => {
  it('are handed out once a patient has shown their size, in steps of 1 MiB, and outgrown ones are dropped', () => {
    const pool = new SlabPool();
    expect(pool.take()).toBeUndefined();
    pool.sized(3 * MiB + 1);
    const first = pool.take()!;
    expect(first.byteLength).toBe(4 * MiB);
    pool.release(first);
    expect(pool.take()).toBe(first);
    pool.sized(2 * MiB); // smaller patients fit the slabs there are
    pool.release(first);
    pool.sized(5 * MiB);
    const larger = pool.take()!;
    expect(larger.byteLength).toBe(5 * MiB);
    expect(larger).not.toBe(first);
    pool.release(first); // outgrown: not handed out again
    expect(pool.take()).not.toBe(first);
  });

  it('take a patient’s slices one after another when they fit, and leave them alone otherwise', () => {
    const slices = [Float32Array.of(1, 2, 3), Float32Array.of(4, 5)].map((data) => ({ data }));
    const slab = new SharedArrayBuffer(5 * 4);
    expect(packIntoSlab(slices, slab)).toBe(true);
    expect(slices.map(({ data }) => [data.buffer, data.byteOffset, Array.from(data)])).toEqual([
      [slab, 0, [1, 2, 3]],
      [slab, 12, [4, 5]],
    ]);
    const more = [{ data: new Float32Array(6) }];
    const own = more[0].data;
    expect(packIntoSlab(more, slab)).toBe(false);
    expect(more[0].data).toBe(own);
  });
});

describe('batch buffers', () => {
  it('are reused by length up to the number kept', () => {
    const pool = new BufferPool(1);
    const a = pool.take(8);
    expect(a.reused).toBe(false);
    pool.release(a.buffer);
    pool.release(new Float32Array(8)); // beyond `keep`: dropped
    expect(pool.take(8)).toEqual({ buffer: a.buffer, reused: true });
    expect(pool.take(8).reused).toBe(false);
    expect(pool.take(4).buffer.length).toBe(4);
  });

  // Patients of 1 to 4 slices, shuffled: each epoch pads other slots, so a reused buffer must clear what it held.
  const side = 6;
  const patients = Array.from({ length: 7 }, (_, p) => ({
    id: `p${p}`,
    slices: Array.from({ length: 1 + (p % 4) }, (_, s) => ({ path: `${p}/${s}` })),
    targets: Float32Array.of(p % 2),
  }));
  const readSlices = async (path: string): Promise<Slice[]> => {
    const [p, s] = path.split('/').map(Number);
    const data = Float32Array.from({ length: side * side }, (_, i) => 1 + p * 100 + s * 10 + i / 100);
    return [{ rows: side, cols: side, channels: 1, data, meta: { source: path, format: 'image' } }];
  };
  const loader = () =>
    new PatientLoader({ patients, labelSchema: binarySchema(['any']) }, { batchSize: 3, seed: 5, prefetch: 1 }, { readSlices });
  const collect = async (source: PatientLoader, epoch: number) => {
    const out: number[][] = [];
    await forEachBatch(source.epoch(epoch), (batch) => {
      out.push(Array.from(batch.images.dataSync()));
    });
    return out;
  };

  it('hold the same bytes as fresh ones, padding included', async () => {
    const reusing = loader();
    await collect(reusing, 0);
    const later = [await collect(reusing, 1), await collect(reusing, 2)];
    const fresh = [await collect(loader(), 1), await collect(loader(), 2)];
    expect(later).toEqual(fresh);
    expect(later[0].some((values) => values.includes(0)), 'some batch is padded').toBe(true);
  });

  it('are not reused while a tensor made from one lives on past the batch', async () => {
    const source = loader();
    const views: Array<{ view: import('@tensorflow/tfjs').Tensor; values: number[] }> = [];
    await forEachBatch(source.epoch(0), (batch) => {
      const view = batch.images.reshape([-1]); // on the CPU backend, a view of the same values
      views.push({ view, values: Array.from(view.dataSync()) });
    });
    await collect(source, 1);
    for (const { view, values } of views) expect(Array.from(view.dataSync())).toEqual(values);
    tf.dispose(views.map(({ view }) => view));
  });
});
