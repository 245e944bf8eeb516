import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setLogLevel } from '../../src/core/log.ts';
import { closeDecodePools } from '../../src/data/decode-pool.ts';
import { loadDataset } from '../../src/data/datasets/registry.ts';
import type { Dataset } from '../../src/data/datasets/types.ts';
import { writeDemoDataset } from '../../src/data/demo/dataset.ts';
import { forEachBatch, PatientLoader, type LoaderConfig, type LoaderEvent } from '../../src/data/loader.ts';
import { buildPreprocess } from '../../src/data/preprocess.ts';

let work: string;
let dataset: Dataset;
beforeAll(async () => {
  setLogLevel('warn'); // the phantom's RSNA-quirk files log on read
  work = mkdtempSync(join(tmpdir(), 'sliceseq-workers-'));
  writeDemoDataset(work, { patients: 5, seed: 3, size: 24, slices: 4, testPatients: 0 });
  dataset = await loadDataset({ name: 'rsna-ich', root: work, cacheDir: null });
});
afterAll(async () => {
  await closeDecodePools();
  setLogLevel('info');
  rmSync(work, { recursive: true, force: true });
});

/** Every batch of an epoch as plain arrays: ids, slice counts, image bytes, mask. */
async function collect(loader: PatientLoader, epoch: number) {
  const out: Array<{ ids: string[]; counts: number[]; images: number[]; mask: number[] }> = [];
  await forEachBatch(loader.epoch(epoch), (batch) => {
    out.push({ ids: batch.patientIds, counts: batch.sliceCounts, images: Array.from(batch.images.dataSync()), mask: Array.from(batch.mask.dataSync()) });
  });
  return out;
}

const preprocess = () =>
  buildPreprocess([
    { name: 'window', windows: ['brain', 'subdural', 'bone'] },
    { name: 'clahe', clipLimit: 2, tileGridSize: 4 },
    { name: 'resize', size: 16 },
    { name: 'flip', horizontal: 0.5 },
    { name: 'rotate', degrees: 15 },
    { name: 'jitter' },
  ]);

describe('decode workers', () => {
  it('give the same bytes with 0, 1 or 4 workers: seeded augmentation, two epochs, and evaluation', async () => {
    const source = { patients: dataset.patients, labelSchema: dataset.labelSchema };
    const config: LoaderConfig = { batchSize: 2, seed: 7, augment: true, prefetch: 2 };
    const runs = [];
    for (const workers of [0, 1, 4]) {
      const threads = new Set<number>();
      const onEvent = (event: LoaderEvent) => event.type === 'patient' && threads.add(event.thread);
      const loader = new PatientLoader(source, { ...config, workers }, { pipeline: preprocess(), onEvent });
      runs.push({ workers, epochs: [await collect(loader, 0), await collect(loader, 1)] });
      // Thread 0 is the main thread: with workers, none of the decoding happened there.
      expect(threads.has(0)).toBe(workers === 0);
      if (workers === 4) expect(threads.size, 'patients spread over the workers').toBeGreaterThan(1);
    }
    const [inline, ...pooled] = runs;
    expect(inline.epochs[0][0].images.length).toBe(2 * 4 * 16 * 16 * 3);
    expect(inline.epochs[1]).not.toEqual(inline.epochs[0]); // augmentation differs between epochs
    for (const run of pooled) expect(run.epochs, `${run.workers} workers`).toEqual(inline.epochs);

    const evaluation = { batchSize: 3, seed: 7, shuffle: false };
    const plain = await collect(new PatientLoader(source, evaluation, { pipeline: preprocess() }), 0);
    expect(await collect(new PatientLoader(source, { ...evaluation, workers: 2 }, { pipeline: preprocess() }), 0)).toEqual(plain);
  });

  it('use and fill the decoded-slice cache as the main thread does', async () => {
    const source = { patients: dataset.patients, labelSchema: dataset.labelSchema };
    const config: LoaderConfig = { batchSize: 2, seed: 1, shuffle: false, cacheDir: join(work, 'cache'), workers: 2 };
    const loader = new PatientLoader(source, config, { pipeline: preprocess() });
    const first = await collect(loader, 0);
    expect(loader.cacheStats()).toEqual({ hits: 0, misses: 5, evicted: 0 });
    expect(await collect(loader, 1)).toEqual(first);
    expect(loader.cacheStats()).toEqual({ hits: 5, misses: 5, evicted: 0 });
    const inline = new PatientLoader(source, { ...config, workers: 0 }, { pipeline: preprocess() });
    expect(await collect(inline, 0)).toEqual(first);
    expect(inline.cacheStats()).toEqual({ hits: 5, misses: 0, evicted: 0 });
  });

  it('report a bad file with its path, and refuse what a worker cannot rebuild', async () => {
    const source = { patients: [{ id: 'x', slices: [{ path: join(work, 'absent.dcm') }] }] };
    const loader = new PatientLoader(source, { batchSize: 1, seed: 0, workers: 1 }, { pipeline: preprocess() });
    await expect(collect(loader, 0)).rejects.toThrow(`patient 'x': ${join(work, 'absent.dcm')}: cannot read file`);
    expect(() => new PatientLoader(source, { batchSize: 1, seed: 0, workers: 1 }, { readSlices: async () => [] })).toThrow(/custom readSlices needs workers: 0/);
    // Several batches decode at once with 4 workers and batches of 1: a bad one among them still surfaces in order.
    const strip = (patients: typeof dataset.patients) => patients.map(({ id, slices }) => ({ id, slices }));
    const mixed = { patients: [...strip(dataset.patients.slice(0, 2)), ...source.patients, ...strip(dataset.patients.slice(2))] };
    const seen: string[] = [];
    const pipelined = new PatientLoader(mixed, { batchSize: 1, seed: 0, shuffle: false, workers: 4 }, { pipeline: preprocess() });
    await expect(forEachBatch(pipelined.epoch(0), (batch) => void seen.push(...batch.patientIds))).rejects.toThrow(`patient 'x': `);
    expect(seen).toEqual(dataset.patients.slice(0, 2).map((p) => p.id));
  });
});
