import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useBackend } from '../helpers/backend.ts';
import { EmbeddingCache, EmbeddingLoader, type EmbeddingIndex } from '../../src/data/embedding-loader.ts';
import { PatientLoader, forEachBatch } from '../../src/data/loader.ts';
import { writeNpy } from '../../src/data/npy.ts';
import { limitSliceIndices, type Patient } from '../../src/data/patients.ts';
import { binarySchema, targetColumns } from '../../src/labels/schema.ts';

let tf: Awaited<ReturnType<typeof useBackend>>;
beforeAll(async () => {
  tf = await useBackend('cpu');
});

const schema = binarySchema(['a', 'b']);
const features = 3;
/** Embedding f of slice s of patient p. */
const value = (p: number, s: number, f: number) => 100 * p + 10 * s + f;

function patientsWith(counts: number[]): Patient[] {
  return counts.map((count, p) => ({
    id: `p${p}`,
    slices: Array.from({ length: count }, (_, s) => ({ path: `/nowhere/${p}/${s}.dcm` })),
    targets: Float32Array.of(p % 2, 1),
    sliceTargets: Array.from({ length: count }, (_, s) => Float32Array.of(s % 2, (s + p) % 2)),
  }));
}

/** An embeddings cache as `sliceseq extract` lays it out, with known values. */
function writeCache(patients: Patient[], override: (index: EmbeddingIndex) => void = () => {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'sliceseq-embcache-'));
  patients.forEach((patient, p) => {
    const count = patient.slices.length;
    writeNpy(join(dir, `${patient.id}.npy`), Float32Array.from({ length: count * features }, (_, i) => value(p, Math.floor(i / features), i % features)), [count, features]);
  });
  const index: EmbeddingIndex = {
    format: 'sliceseq-embeddings',
    version: 1,
    fingerprint: '0123456789abcdef',
    parts: { model: 'm', preprocess: 'p', data: 'd' },
    features,
    source: { experiment: 'synthetic', fromRun: null, tta: false, seed: 0, backbone: { name: 'small-vgg' }, preprocess: [], imageShape: { height: 8, width: 8, channels: 1 }, trainedOn: null },
    labels: { columns: targetColumns(schema), schema },
    patients: patients.map((p) => ({ id: p.id, file: `${p.id}.npy`, slices: p.slices.length, targets: Array.from(p.targets!), sliceTargets: p.sliceTargets!.map((t) => Array.from(t)) })),
    extraction: { slices: 0, seconds: 1, slicesPerSecond: 0, backend: 'cpu', createdAt: new Date(0).toISOString() },
  };
  override(index);
  writeFileSync(join(dir, 'index.json'), JSON.stringify(index));
  return dir;
}

describe('EmbeddingLoader', () => {
  const counts = [3, 5, 2, 6, 4, 1, 3];
  const patients = patientsWith(counts);
  const cacheDir = writeCache(patients);

  it('batches embeddings [patients, slices, features] padded to the longest patient, with mask and targets', async () => {
    const loader = new EmbeddingLoader({ patients, labelSchema: schema, cache: EmbeddingCache.open(cacheDir) }, { batchSize: 3, seed: 1, shuffle: false, sliceTargets: true });
    expect(loader.batchesPerEpoch()).toBe(3);
    const before = tf.memory().numTensors;
    let seen = 0;
    await forEachBatch(loader.epoch(0), async (batch) => {
      const ids = batch.patientIds.map((id) => Number(id.slice(1)));
      const width = Math.max(...ids.map((p) => counts[p]));
      expect(batch.images.shape).toEqual([ids.length, width, features]);
      expect(batch.sliceCounts).toEqual(ids.map((p) => counts[p]));
      const images = (await batch.images.array()) as number[][][];
      const mask = (await batch.mask.array()) as number[][];
      const sliceTargets = (await batch.sliceTargets!.array()) as number[][][];
      ids.forEach((p, row) => {
        for (let s = 0; s < width; s++) {
          const real = s < counts[p];
          expect(mask[row][s]).toBe(real ? 1 : 0);
          expect(images[row][s]).toEqual(real ? [0, 1, 2].map((f) => value(p, s, f)) : [0, 0, 0]);
          expect(sliceTargets[row][s]).toEqual(real ? [s % 2, (s + p) % 2] : [0, 0]);
        }
      });
      expect(await batch.targets!.array()).toEqual(ids.map((p) => [p % 2, 1]));
      seen += ids.length;
    });
    expect(seen).toBe(counts.length);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("shuffles per epoch with the seed, in the same order as the image loader's", () => {
    const cache = EmbeddingCache.open(cacheDir);
    const loader = (seed: number) => new EmbeddingLoader({ patients, labelSchema: schema, cache }, { batchSize: 2, seed });
    const images = new PatientLoader({ patients, labelSchema: schema }, { batchSize: 2, seed: 5 });
    expect(loader(5).plan(0)).toEqual(images.plan(0));
    expect(loader(5).plan(3)).toEqual(images.plan(3));
    expect(loader(5).plan(1)).toEqual(loader(5).plan(1));
    expect(loader(5).plan(1)).not.toEqual(loader(5).plan(2));
    expect(loader(6).plan(1)).not.toEqual(loader(5).plan(1));
  });

  it('keeps at most maxSlices slices by the image loader rule; slice targets follow them', async () => {
    const loader = new EmbeddingLoader({ patients, labelSchema: schema, cache: EmbeddingCache.open(cacheDir) }, { batchSize: 7, seed: 0, shuffle: false, maxSlices: 3, sliceLimit: 'resample', sliceTargets: true });
    await forEachBatch(loader.epoch(0), async (batch) => {
      expect(batch.images.shape).toEqual([7, 3, features]);
      const images = (await batch.images.array()) as number[][][];
      const sliceTargets = (await batch.sliceTargets!.array()) as number[][][];
      const kept = limitSliceIndices(counts[3], 3, 'resample'); // patient p3 has 6 slices
      expect(kept).toEqual([0, 3, 5]);
      expect(images[3].map((row) => row[0])).toEqual(kept.map((s) => value(3, s, 0)));
      expect(sliceTargets[3]).toEqual(kept.map((s) => [s % 2, (s + 3) % 2]));
      expect(batch.sliceCounts).toEqual(counts.map((n) => Math.min(n, 3)));
    });
  });

  it('refuses a patient missing from the cache, a slice count that differs, a file of the wrong shape, and a folder without index', async () => {
    const cache = EmbeddingCache.open(cacheDir);
    const extra: Patient = { id: 'newcomer', slices: [{ path: '/nowhere/x.dcm' }], targets: Float32Array.of(0, 0) };
    expect(() => new EmbeddingLoader({ patients: [...patients, extra], labelSchema: schema, cache }, { batchSize: 2, seed: 0 })).toThrow(
      /patient 'newcomer' is not in the embeddings cache .*re-run `sliceseq extract`/,
    );
    const grown = patientsWith([4]);
    expect(() => new EmbeddingLoader({ patients: grown, labelSchema: schema, cache }, { batchSize: 2, seed: 0 })).toThrow(
      /patient 'p0' has 4 slices in the dataset but 3 in the embeddings cache/,
    );
    const lying = writeCache(patientsWith([2]), (index) => (index.patients[0].slices = 3));
    const loader = new EmbeddingLoader({ patients: patientsWith([3]), labelSchema: schema, cache: EmbeddingCache.open(lying) }, { batchSize: 1, seed: 0 });
    await expect(forEachBatch(loader.epoch(0), () => {})).rejects.toThrow(/p0\.npy: shape \(2, 3\), the cache index says \(3, 3\)/);
    expect(() => EmbeddingCache.open(mkdtempSync(join(tmpdir(), 'sliceseq-empty-')))).toThrow(/holds no embeddings cache \(index\.json is missing\)/);
    const broken = writeCache(patientsWith([1]), (index) => ((index as { features: unknown }).features = 'many'));
    expect(() => EmbeddingCache.open(broken)).toThrow(/index\.json[\s\S]*features/);
  });
});
