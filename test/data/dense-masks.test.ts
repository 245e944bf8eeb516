import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeDecodePools } from '../../src/data/decode-pool.ts';
import { loadDataset } from '../../src/data/datasets/registry.ts';
import { forEachBatch, PatientLoader, type LoaderEvent } from '../../src/data/loader.ts';
import { checkMaskValues } from '../../src/data/masks.ts';
import { readSlices } from '../../src/data/readers/index.ts';
import { buildPreprocess } from '../../src/data/preprocess.ts';
import { parseDenseOrdinalGroup } from '../../src/labels/dense-ordinal.ts';
import { useBackend } from '../helpers/backend.ts';

/**
 * Dense label maps from a manifest: one mask PNG per type (or one multi-channel file), named in mask columns;
 * a split column holds out test patients. The loader moves the maps with the images' geometric augmentation.
 */
const SIZE = 12;
const group = { kind: 'dense-ordinal', name: 'damage', classes: ['a', 'b'], levels: 4 } as const;
let work: string;

/** Image: bright (200) on the left third, dark (20) elsewhere; masks: type a grade 2 and type b grade 1 on the same third. */
function leftThird(inside: number, outside: number, size = SIZE): Uint8Array {
  return Uint8Array.from({ length: size * size }, (_, i) => (i % size < size / 3 ? inside : outside));
}
const png = (path: string, values: Uint8Array, size = SIZE, channels: 1 | 3 = 1) => {
  const image = sharp(Buffer.from(values), { raw: { width: size, height: size, channels } });
  return (channels === 1 ? image.toColourspace('b-w') : image).png().toFile(path);
};

function manifest(name: string, rows: string[], header = 'patient_id,path,slice,mask_a,mask_b,split'): string {
  const path = join(work, name);
  writeFileSync(path, `${header}\n${rows.join('\n')}\n`);
  return path;
}

function datasetConfig(csv: string, extra: Record<string, unknown> = {}) {
  return { name: 'manifest', root: work, csv, orderColumn: 'slice', cacheDir: null, splitColumn: 'split', masks: { group, columns: ['mask_a', 'mask_b'] }, ...extra };
}

beforeAll(async () => {
  await useBackend();
  work = mkdtempSync(join(tmpdir(), 'sliceseq-dense-'));
  mkdirSync(join(work, 'img'));
  const rows: string[] = [];
  for (let p = 0; p < 6; p++) {
    await png(join(work, 'img', `p${p}.png`), leftThird(200, 20));
    await png(join(work, 'img', `p${p}_a.png`), leftThird(2, 0));
    await png(join(work, 'img', `p${p}_b.png`), leftThird(1, 0));
    rows.push(`p${p},img/p${p}.png,0,img/p${p}_a.png,img/p${p}_b.png,${p === 5 ? 'test' : 'train'}`);
  }
  manifest('good.csv', rows);
  await png(join(work, 'img', 'bad_value.png'), Uint8Array.from({ length: SIZE * SIZE }, (_, i) => (i === SIZE + 3 ? 7 : 0)));
  await png(join(work, 'img', 'small.png'), new Uint8Array(8 * 8), 8);
  await png(join(work, 'img', 'rgb.png'), new Uint8Array(SIZE * SIZE * 3), SIZE, 3);
  const unlabelled = leftThird(3, 0);
  unlabelled[0] = 255;
  await png(join(work, 'img', 'unlabelled.png'), unlabelled);
});
afterAll(async () => {
  await closeDecodePools();
  rmSync(work, { recursive: true, force: true });
});

describe('manifest masks', () => {
  it('lists each slice with its mask files and holds out the split column\'s test patients', async () => {
    const dataset = await loadDataset(datasetConfig('good.csv'));
    expect(dataset.dense).toEqual(parseDenseOrdinalGroup(group));
    expect(dataset.labelled).toBe(true);
    expect(dataset.testIds).toEqual(['p5']);
    expect(dataset.patients[0].sliceMasks).toEqual([{ paths: [join(work, 'img/p0_a.png'), join(work, 'img/p0_b.png')] }]);
  });

  it('refuses a missing mask file, a missing mask column, and a column count that fits neither layout', async () => {
    manifest('missing.csv', ['p0,img/p0.png,0,img/nope.png,img/p0_b.png,train']);
    await expect(loadDataset(datasetConfig('missing.csv'))).rejects.toThrow(/missing.csv line 2: mask .*nope.png: file not found/);
    manifest('no-column.csv', ['p0,img/p0.png,0,img/p0_a.png,train'], 'patient_id,path,slice,mask_a,split');
    await expect(loadDataset(datasetConfig('no-column.csv'))).rejects.toThrow(/mask_b/);
    await expect(loadDataset(datasetConfig('good.csv', { masks: { group, columns: ['mask_a', 'mask_b', 'split'] } }))).rejects.toThrow(/one mask column per type, or one column/);
  });
});

describe('loader maps', () => {
  it('move with the images under the same random flips, rotations and zooms (nearest neighbour, never blended)', async () => {
    const dataset = await loadDataset(datasetConfig('good.csv'));
    const pipeline = buildPreprocess([{ name: 'rescale' }, { name: 'resize', size: 24 }, { name: 'flip', horizontal: 0.5, vertical: 0.5 }, { name: 'rotate', degrees: 30 }, { name: 'zoom', min: 0.8, max: 1.2 }, { name: 'jitter' }]);
    const loader = new PatientLoader({ patients: dataset.patients, dense: dataset.dense }, { batchSize: 3, seed: 3, augment: true }, { pipeline });
    const orientations = new Set<string>();
    for (const epoch of [0, 1, 2]) {
      await forEachBatch(loader.epoch(epoch), (batch) => {
        expect(batch.maps!.shape).toEqual([batch.patientIds.length, 1, 24, 24, 2]);
        const images = batch.images.dataSync();
        const maps = batch.maps!.dataSync();
        for (let p = 0; p < batch.patientIds.length; p++) {
          let inside = 0;
          let outside = 0;
          let insideCount = 0;
          let outsideCount = 0;
          let leftHeavy = 0;
          for (let i = 0; i < 24 * 24; i++) {
            const [a, b] = [maps[(p * 576 + i) * 2], maps[(p * 576 + i) * 2 + 1]];
            // Grades only, never a blend of 0 and 2 (1 would be one), and types stay together; 255 where the warp uncovers.
            expect([0, 2, 255]).toContain(a);
            expect(b === 255 ? a === 255 : b === a / 2).toBe(true);
            if (a === 2) [inside, insideCount] = [inside + images[p * 576 + i], insideCount + 1];
            if (a === 0) [outside, outsideCount] = [outside + images[p * 576 + i], outsideCount + 1];
            if (a === 2) leftHeavy += i % 24 < 12 ? 1 : -1;
          }
          expect(insideCount).toBeGreaterThan(0);
          // The bright third of the image is where the grade-2 map is, whatever the draw.
          expect(inside / insideCount).toBeGreaterThan(outside / outsideCount + 0.3);
          orientations.add(leftHeavy > 0 ? 'left' : 'right');
        }
      });
    }
    // Some draws flipped and some did not: the check above saw both.
    expect(orientations).toEqual(new Set(['left', 'right']));
  });

  it('give the same images and maps with 0, 1 or 4 decode workers (the maps read, checked and moved in the worker)', async () => {
    const dataset = await loadDataset(datasetConfig('good.csv'));
    const pipeline = () => buildPreprocess([{ name: 'rescale' }, { name: 'resize', size: 24 }, { name: 'flip', horizontal: 0.5, vertical: 0.5 }, { name: 'rotate', degrees: 30 }, { name: 'jitter' }]);
    const collect = async (workers: number, augment: boolean) => {
      const threads = new Set<number>();
      const onEvent = (event: LoaderEvent) => event.type === 'patient' && threads.add(event.thread);
      const loader = new PatientLoader({ patients: dataset.patients, dense: dataset.dense }, { batchSize: 2, seed: 5, augment, shuffle: augment, workers }, { pipeline: pipeline(), onEvent });
      const out: Array<{ ids: string[]; images: number[]; maps: number[] }> = [];
      for (const epoch of augment ? [0, 1] : [0]) {
        await forEachBatch(loader.epoch(epoch), (batch) => {
          out.push({ ids: batch.patientIds, images: Array.from(batch.images.dataSync()), maps: Array.from(batch.maps!.dataSync()) });
        });
      }
      expect(threads.has(0), `${workers} workers: decoded on the main thread`).toBe(workers === 0);
      return out;
    };
    for (const augment of [true, false]) {
      const inline = await collect(0, augment);
      expect(inline[0].maps.length).toBe(2 * 24 * 24 * 2);
      expect(inline.some((batch) => batch.maps.some((v) => v === 2))).toBe(true);
      for (const workers of [1, 4]) expect(await collect(workers, augment), `${workers} workers, augment ${augment}`).toEqual(inline);
    }
  });

  it('refuse a bad mask in a worker as on the main thread, naming the file', async () => {
    manifest('bad-worker.csv', ['p0,img/p0.png,0,img/bad_value.png,img/p0_b.png,train']);
    const dataset = await loadDataset(datasetConfig('bad-worker.csv'));
    const loader = new PatientLoader({ patients: dataset.patients, dense: dataset.dense }, { batchSize: 1, seed: 0, workers: 1 }, { pipeline: buildPreprocess([{ name: 'rescale' }]) });
    await expect(forEachBatch(loader.epoch(0), () => undefined)).rejects.toThrow(/patient 'p0': mask .*bad_value.png: value 7 at row 1, column 3/);
  });

  it('reads one multi-channel mask per slice and keeps unlabelled pixels at the ignore value', async () => {
    const rows = ['p0,img/p0.png,0,img/unlabelled.png,test'];
    manifest('one.csv', rows, 'patient_id,path,slice,mask,split');
    const single = { kind: 'dense-ordinal', name: 'damage', classes: ['a'], levels: 4 } as const;
    const dataset = await loadDataset(datasetConfig('one.csv', { masks: { group: single, columns: ['mask'] } }));
    const loader = new PatientLoader({ patients: dataset.patients, dense: dataset.dense }, { batchSize: 1, seed: 0, shuffle: false });
    await forEachBatch(loader.epoch(0), (batch) => {
      const maps = batch.maps!.dataSync();
      expect(maps[0]).toBe(255);
      expect(maps[1]).toBe(3);
      expect(maps[SIZE - 1]).toBe(0);
    });
  });

  it.each([
    ['a grade outside the levels', 'bad_value.png', /mask .*bad_value.png: value 7 at row 1, column 3 is not an integer grade 0..3 \(or the ignore value 255\)/],
    ['another size than the image', 'small.png', /mask .*small.png: is 8×8, its image .*p0.png 12×12/],
    ['the wrong channel count', 'rgb.png', /mask .*rgb.png: has 3 channel\(s\), expected 1/],
  ])('refuses a mask with %s, naming the file', async (_, file, message) => {
    manifest(`bad-${file}.csv`, [`p0,img/p0.png,0,img/${file},img/p0_b.png,train`]);
    const dataset = await loadDataset(datasetConfig(`bad-${file}.csv`));
    const loader = new PatientLoader({ patients: dataset.patients, dense: dataset.dense }, { batchSize: 1, seed: 0 });
    await expect(forEachBatch(loader.epoch(0), () => undefined)).rejects.toThrow(message);
  });

  it('refuses a value that is not an integer (e.g. a float NIfTI mask)', () => {
    const checked = parseDenseOrdinalGroup(group);
    expect(() => checkMaskValues(Float32Array.from([0, 1, 1.5, 2]), 2, 1, checked, 'mask.nii')).toThrow('mask mask.nii: value 1.5 at row 1, column 0 is not an integer grade 0..3 (or the ignore value 255)');
  });
});

/** A minimal NIfTI-1 file (.nii): 348-byte header, 4 empty extension bytes, uint8 voxels, x fastest. */
function niftiUint8(dims: [number, number, number], voxels: Uint8Array): Buffer {
  const header = Buffer.alloc(352);
  header.writeInt32LE(348, 0);
  [3, ...dims, 1, 1, 1, 1].forEach((d, i) => header.writeInt16LE(d, 40 + 2 * i));
  header.writeInt16LE(2, 70); // DT_UINT8
  header.writeInt16LE(8, 72); // bits per voxel
  [1, 1, 1, 1].forEach((p, i) => header.writeFloatLE(p, 76 + 4 * i)); // pixdim
  header.writeFloatLE(352, 108); // vox_offset
  header.writeFloatLE(1, 112); // scl_slope
  header.write('n+1\0', 344, 'latin1');
  return Buffer.concat([header, Buffer.from(voxels)]);
}

describe('volume masks', () => {
  it('a NIfTI volume row gets the mask volume\'s slice of the same frame', async () => {
    const volume = join(import.meta.dirname, '../fixtures/nifti/volume.nii');
    // Same 4×3×5 grid as the fixture volume; each voxel's grade is its z index mod 4, plus its x index on z = 2.
    const voxels = Uint8Array.from({ length: 4 * 3 * 5 }, (_, i) => {
      const [x, z] = [i % 4, Math.floor(i / 12)];
      return (z + (z === 2 ? x : 0)) % 4;
    });
    writeFileSync(join(work, 'mask.nii'), niftiUint8([4, 3, 5], voxels));
    manifest('volume.csv', [`v1,${volume},0,mask.nii,train`], 'patient_id,path,slice,mask,split');
    const single = { kind: 'dense-ordinal', name: 'damage', classes: ['a'], levels: 4 } as const;
    const dataset = await loadDataset(datasetConfig('volume.csv', { masks: { group: single, columns: ['mask'] } }));
    const patient = dataset.patients[0];
    expect(patient.sliceMasks!.map((m) => m.frame)).toEqual(patient.slices.map((s) => s.frame));
    const expected = await readSlices(join(work, 'mask.nii'));
    const loader = new PatientLoader({ patients: dataset.patients, dense: dataset.dense }, { batchSize: 1, seed: 0, shuffle: false });
    await forEachBatch(loader.epoch(0), (batch) => {
      const [, slices, rows, cols] = batch.maps!.shape;
      expect(slices).toBe(patient.slices.length);
      const maps = batch.maps!.dataSync();
      patient.slices.forEach((slice, s) => {
        const want = expected[slice.frame ?? 0].data;
        expect(Array.from(maps.subarray(s * rows * cols, (s + 1) * rows * cols))).toEqual(Array.from(want));
      });
    });
  });
});
