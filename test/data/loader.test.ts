import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { useBackend } from '../helpers/backend.ts';
import { binarySchema } from '../../src/labels/schema.ts';
import { PatientLoader, forEachBatch, type LoaderEvent, type LoaderPipeline } from '../../src/data/loader.ts';
import { buildPreprocess } from '../../src/data/preprocess.ts';
import type { Patient } from '../../src/data/patients.ts';
import type { Slice } from '../../src/data/types.ts';
import type { Rng } from '../../src/core/rng.ts';

let tf: Awaited<ReturnType<typeof useBackend>>;
beforeAll(async () => {
  tf = await useBackend('cpu');
});

const schema = binarySchema(['a', 'b']);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Patients whose slice `s` of patient `p` reads as a 2×3 slice filled with 100·p + s (paths `p/s`). */
function syntheticPatients(counts: number[]): Patient[] {
  return counts.map((count, p) => ({
    id: `p${p}`,
    slices: Array.from({ length: count }, (_, s) => ({ path: `${p}/${s}` })),
    targets: Float32Array.of(p % 2, (p + 1) % 2),
    sliceTargets: Array.from({ length: count }, (_, s) => Float32Array.of(s % 2, 1)),
  }));
}

function syntheticReader(options: { delayMs?: number; rows?: number; cols?: number; onRead?: (path: string) => void } = {}) {
  const { rows = 2, cols = 3 } = options;
  return async (path: string): Promise<Slice[]> => {
    options.onRead?.(path);
    if (options.delayMs) await sleep(options.delayMs);
    const [p, s] = path.split('/').map(Number);
    return [{ rows, cols, channels: 1, data: new Float32Array(rows * cols).fill(100 * p + s), meta: { source: path, format: 'image' } }];
  };
}

/** A random pipeline: augmentation adds one draw per patient to every value. */
const noisePipeline: LoaderPipeline = {
  fingerprint: () => 'noise',
  prepare: async (slices) => slices,
  finish: async (slices) => slices,
  augment: async (slices: Slice[], rng: Rng) => {
    const shift = rng.float();
    return slices.map((slice) => ({ ...slice, data: slice.data.map((v) => v + shift) }));
  },
};

async function collect(loader: PatientLoader, epoch: number) {
  const out: Array<{ ids: string[]; images: number[]; mask: number[][] }> = [];
  await forEachBatch(loader.epoch(epoch), async (batch) => {
    out.push({ ids: batch.patientIds, images: Array.from(await batch.images.data()), mask: (await batch.mask.array()) as number[][] });
  });
  return out;
}

describe('PatientLoader', () => {
  it('produces padded images, masks, targets and slice targets', async () => {
    const loader = new PatientLoader(
      { patients: syntheticPatients([3, 1, 4, 2, 3]), labelSchema: schema },
      { batchSize: 2, seed: 1, shuffle: false, sliceTargets: true },
      { readSlices: syntheticReader() },
    );
    expect(loader.batchesPerEpoch()).toBe(3);
    const batches = [];
    for await (const batch of loader.epoch(0)) {
      batches.push({
        ids: batch.patientIds,
        shape: batch.images.shape,
        mask: await batch.mask.array(),
        targets: await batch.targets!.array(),
        sliceTargets: await batch.sliceTargets!.array(),
        firstPixels: (await batch.images.array()).map((patient) => patient.map((slice) => slice[0][0][0])),
        sliceIds: batch.sliceIds,
      });
      batch.dispose();
    }
    expect(batches.map((b) => b.ids)).toEqual([['p0', 'p1'], ['p2', 'p3'], ['p4']]);
    expect(batches.map((b) => b.shape)).toEqual([[2, 3, 2, 3, 1], [2, 4, 2, 3, 1], [1, 3, 2, 3, 1]]);
    expect(batches[0].mask).toEqual([[1, 1, 1], [1, 0, 0]]);
    expect(batches[0].firstPixels).toEqual([[0, 1, 2], [100, 0, 0]]);
    expect(batches[1].targets).toEqual([[0, 1], [1, 0]]);
    expect(batches[0].sliceTargets[1]).toEqual([[0, 1], [0, 0], [0, 0]]);
    // Without a dataset id a slice is named by its file.
    expect(batches[0].sliceIds).toEqual([['0/0', '0/1', '0/2'], ['1/0']]);
  });

  it('limits slices (crop / resample) and pads to maxSlices for fixed shapes', async () => {
    const make = (sliceLimit: 'crop' | 'resample') =>
      new PatientLoader(
        { patients: syntheticPatients([9, 2]), labelSchema: schema },
        { batchSize: 2, seed: 1, shuffle: false, maxSlices: 4, sliceLimit, padTo: 'maxSlices' },
        { readSlices: syntheticReader() },
      );
    const [crop] = await collect(make('crop'), 0);
    const [resample] = await collect(make('resample'), 0);
    const firstPixels = (images: number[]) => Array.from({ length: 8 }, (_, i) => images[i * 6]);
    expect(firstPixels(crop.images)).toEqual([2, 3, 4, 5, 100, 101, 0, 0]);
    expect(firstPixels(resample.images)).toEqual([0, 3, 5, 8, 100, 101, 0, 0]);
    expect(crop.mask).toEqual([[1, 1, 1, 1], [1, 1, 0, 0]]);
  });

  it('order and augmentation depend on the seed and epoch only, not on prefetch or decode timing', async () => {
    const patients = syntheticPatients([2, 3, 1, 2, 2, 3, 1]);
    const make = (seed: number, prefetch: number, concurrency: number, delayMs: number) =>
      new PatientLoader(
        { patients, labelSchema: schema },
        { batchSize: 3, seed, augment: true, prefetch, concurrency },
        { readSlices: syntheticReader({ delayMs }), pipeline: noisePipeline },
      );
    const a = await collect(make(7, 1, 1, 0), 3);
    const b = await collect(make(7, 3, 4, 2), 3);
    expect(b).toEqual(a);
    const otherEpoch = await collect(make(7, 1, 1, 0), 4);
    const otherSeed = await collect(make(8, 1, 1, 0), 3);
    expect(otherEpoch.map((x) => x.ids)).not.toEqual(a.map((x) => x.ids));
    expect(otherSeed.map((x) => x.ids)).not.toEqual(a.map((x) => x.ids));
    // Augmentation is per patient: the same patient gets the same shift in the same epoch whatever its batch.
    expect(a.flatMap((x) => x.ids).sort()).toEqual(patients.map((p) => p.id).sort());
  });

  it('decodes the next batch while the consumer still holds the current one', async () => {
    const events: LoaderEvent[] = [];
    const loader = new PatientLoader(
      { patients: syntheticPatients([2, 2, 2, 2, 2, 2, 2, 2]), labelSchema: schema },
      { batchSize: 2, seed: 3, prefetch: 1 },
      { readSlices: syntheticReader({ delayMs: 3 }), onEvent: (event) => events.push(event) },
    );
    await forEachBatch(loader.epoch(0), async () => {
      await sleep(15);
    });
    const at = (type: LoaderEvent['type'], batch: number) => events.findIndex((e) => e.type === type && 'batch' in e && e.batch === batch);
    for (let k = 0; k < 3; k++) {
      expect(at('decode-start', k + 1)).toBeGreaterThanOrEqual(0);
      expect(at('decode-start', k + 1)).toBeLessThan(at('dispose', k));
    }
    // The queue is bounded: decoding never runs more than prefetch + 1 batches ahead of the consumer.
    for (let k = 0; k < 4; k++) {
      const started = events.filter((e, i) => e.type === 'decode-start' && i < at('dispose', k)).length;
      expect(started).toBeLessThanOrEqual(k + 3);
    }
  });

  it('leaks no tensors, also when the consumer stops early or decoding fails', async () => {
    const patients = syntheticPatients([2, 3, 1, 2, 2, 3]);
    const before = tf.memory().numTensors;
    const loader = new PatientLoader({ patients, labelSchema: schema }, { batchSize: 2, seed: 1 }, { readSlices: syntheticReader({ delayMs: 1 }) });
    await collect(loader, 0);
    expect(tf.memory().numTensors).toBe(before);
    for await (const batch of loader.epoch(1)) {
      batch.dispose();
      break;
    }
    expect(tf.memory().numTensors).toBe(before);

    const failing = new PatientLoader(
      { patients, labelSchema: schema },
      { batchSize: 2, seed: 1, shuffle: false },
      { readSlices: async (path) => (path.startsWith('3/') ? Promise.reject(new Error(`${path}: cannot decode`)) : syntheticReader()(path)) },
    );
    const seen: string[][] = [];
    await expect(forEachBatch(failing.epoch(0), (batch) => void seen.push(batch.patientIds))).rejects.toThrow("patient 'p3': 3/0: cannot decode");
    expect(seen).toEqual([['p0', 'p1']]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects slices of different shapes, naming them', async () => {
    const reader = syntheticReader();
    const loader = new PatientLoader(
      { patients: syntheticPatients([1, 1]), labelSchema: schema },
      { batchSize: 2, seed: 1, shuffle: false },
      { readSlices: async (path) => (path.startsWith('1/') ? syntheticReader({ rows: 4 })(path) : reader(path)) },
    );
    await expect(collect(loader, 0)).rejects.toThrow(/1\/0 of patient 'p1' is 4×3×1, 0\/0 is 2×3×1; add a resize transform/);
  });

  it('validates its config', () => {
    const source = { patients: syntheticPatients([1]), labelSchema: schema };
    expect(() => new PatientLoader(source, { batchSize: 0, seed: 1 })).toThrow(/batchSize/);
    expect(() => new PatientLoader(source, { batchSize: 1, seed: 1, padTo: 'maxSlices' })).toThrow(/padTo 'maxSlices' needs maxSlices/);
    expect(() => new PatientLoader(source, { batchSize: 1, seed: 1, prefetchh: 2 } as never)).toThrow(/prefetchh/);
    expect(() => new PatientLoader({ patients: [{ id: 'x', slices: [{ path: 'a' }] }] }, { batchSize: 1, seed: 1, sliceTargets: true })).toThrow(
      /patient 'x' has no slice labels/,
    );
  });
});

describe('decoded-slice cache', () => {
  let work: string;
  const patients: Patient[] = [];
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'sliceseq-loader-'));
    for (let p = 0; p < 4; p++) {
      mkdirSync(join(work, `p${p}`));
      const slices = [];
      for (let s = 0; s < 3; s++) {
        const path = join(work, `p${p}`, `${s}.png`);
        const pixels = Buffer.from(Array.from({ length: 36 }, (_, i) => (p * 40 + s * 10 + i) % 256));
        await sharp(pixels, { raw: { width: 6, height: 6, channels: 1 } }).toColourspace('b-w').png().toFile(path);
        slices.push({ path });
      }
      patients.push({ id: `p${p}`, slices, targets: Float32Array.of(p % 2, 0) });
    }
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('hits on the second epoch, and random augmentation after it matches an uncached run', async () => {
    const preprocess = buildPreprocess([{ name: 'resize', size: 4 }, { name: 'jitter', clip: false }]);
    const events: LoaderEvent[] = [];
    const config = { batchSize: 2, seed: 5, augment: true };
    const cached = new PatientLoader({ patients, labelSchema: schema }, { ...config, cacheDir: join(work, 'cache') }, {
      pipeline: preprocess,
      onEvent: (event) => events.push(event),
    });
    const plain = new PatientLoader({ patients, labelSchema: schema }, config, { pipeline: preprocess });
    const cacheHits = () => events.filter((e) => e.type === 'cache').map((e) => (e as { hit: boolean }).hit);

    const first = await collect(cached, 0);
    expect(cacheHits()).toEqual([false, false, false, false]);
    events.length = 0;
    const second = await collect(cached, 1);
    expect(cacheHits()).toEqual([true, true, true, true]);
    expect(cached.cacheStats()).toEqual({ hits: 4, misses: 4, evicted: 0 });
    expect(first).toEqual(await collect(plain, 0));
    expect(second).toEqual(await collect(plain, 1));
    expect(second[0].images).not.toEqual(first[0].images);

    // A different deterministic pipeline has a different fingerprint: no stale hits.
    events.length = 0;
    const resized = new PatientLoader({ patients, labelSchema: schema }, { ...config, cacheDir: join(work, 'cache') }, {
      pipeline: buildPreprocess([{ name: 'resize', size: 3 }]),
      onEvent: (event) => events.push(event),
    });
    const third = await collect(resized, 0);
    expect(cacheHits()).toEqual([false, false, false, false]);
    expect(third[0].images).toHaveLength(2 * 3 * 3 * 3);
  });
});
