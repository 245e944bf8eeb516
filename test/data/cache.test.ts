import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cachedForm, decodeCacheEntry, encodeCacheEntry, fromFloat16Bits, SliceCache, toFloat16Bits } from '../../src/data/cache.ts';
import { buildPreprocess } from '../../src/data/preprocess.ts';
import type { Slice } from '../../src/data/types.ts';

// value + 0.5 is never k/255: these entries stay float32, so their sizes match the probe's.
const slice = (value: number): Slice => ({ rows: 16, cols: 16, channels: 1, data: new Float32Array(256).fill(value + 0.5), meta: { source: `s${value}.dcm`, format: 'dicom' } });
const entryFiles = (dir: string) => readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.slices'));
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** A cache whose limit holds `entries` one-slice entries (measured on a probe entry of the same shape). */
function cacheWithRoomFor(entries: number): SliceCache {
  const dir = mkdtempSync(join(tmpdir(), 'sliceseq-cache-'));
  dirs.push(dir);
  const probe = new SliceCache(join(dir, 'probe'));
  probe.put('00probe', [slice(0)]);
  const bytes = statSync(join(dir, 'probe', '00', '00probe.slices')).size;
  return new SliceCache(join(dir, 'cache'), entries * bytes + bytes / 2);
}

describe('decoded-slice cache', () => {
  it('round-trips slices and counts hits and misses', async () => {
    const cache = cacheWithRoomFor(10);
    const key = cache.key('fingerprint', [{ path: 'a.dcm', size: 10, mtimeMs: 1 }]);
    expect(await cache.get(key)).toBeUndefined();
    cache.put(key, [slice(1), slice(2)]);
    expect((await cache.get(key))!.map((s) => s.data[0])).toEqual([1.5, 2.5]);
    expect([cache.hits, cache.misses, cache.evicted]).toEqual([1, 1, 0]);
  });

  it('stays under its size limit by deleting the least recently used entries, a fresh hit surviving', async () => {
    const cache = cacheWithRoomFor(3);
    const keys = [0, 1, 2].map((i) => cache.key('f', [{ path: `${i}.dcm`, size: 1, mtimeMs: 1 }]));
    for (const [i, key] of keys.entries()) {
      cache.put(key, [slice(i)]);
      await new Promise((resolve) => setTimeout(resolve, 5)); // distinct last-use times
    }
    expect(await cache.get(keys[0])).toBeDefined(); // now the most recently used
    const extra = cache.key('f', [{ path: 'extra.dcm', size: 1, mtimeMs: 1 }]);
    cache.put(extra, [slice(9)]);
    expect(cache.evicted).toBeGreaterThanOrEqual(1);
    expect(entryFiles(cache.dir).length).toBeLessThanOrEqual(3);
    expect(await cache.get(keys[0])).toBeDefined();
    expect(await cache.get(extra)).toBeDefined();
    expect(await cache.get(keys[1])).toBeUndefined(); // the least recently used went first
  });

  it('counts entries already on disk against the limit (a later run, or another process, shares the folder)', async () => {
    const first = cacheWithRoomFor(2);
    for (const i of [0, 1]) first.put(first.key('f', [{ path: `${i}.dcm`, size: 1, mtimeMs: 1 }]), [slice(i)]);
    const second = new SliceCache(first.dir, first.maxBytes);
    second.put(second.key('f', [{ path: 'new.dcm', size: 1, mtimeMs: 1 }]), [slice(5)]);
    expect(second.evicted).toBeGreaterThanOrEqual(1);
    expect(entryFiles(first.dir).length).toBeLessThanOrEqual(2);
  });
});

const bitsOf = (data: Float32Array) => new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
const meta = { source: 'ct.dcm', format: 'dicom' as const };

/** A CT-like slice in HU (air, skull ring, brain with texture), 3 windows and CLAHE: values k/255. */
async function claheSlices(size: number, count: number): Promise<Slice[]> {
  const slices = Array.from({ length: count }, (_, z): Slice => {
    const data = new Float32Array(size * size);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const r = Math.hypot(x - size / 2, y - size / 2) / (0.45 * size);
        data[y * size + x] = r > 1 ? -1000 : r > 0.9 ? 900 : 20 + ((x * 7 + y * 3 + z * 5) % 40);
      }
    }
    return { rows: size, cols: size, channels: 1, data, meta };
  });
  const pipeline = buildPreprocess([{ name: 'window', windows: ['brain', 'subdural', 'bone'] }, { name: 'clahe', clipLimit: 2, tileGridSize: [4, 4] }]);
  return pipeline.prepare(slices);
}

describe('decoded-slice cache: stored forms', () => {
  const dir = () => {
    const made = mkdtempSync(join(tmpdir(), 'sliceseq-cache-forms-'));
    dirs.push(made);
    return made;
  };
  const entrySize = (cache: SliceCache, key: string) => statSync(join(cache.dir, key.slice(0, 2), `${key}.slices`)).size;

  it('stores CLAHE output as 8-bit entries (a quarter of float32) that read back byte-identical', async () => {
    const slices = await claheSlices(32, 3);
    expect(slices.map((s) => cachedForm(s.data, 'lossless'))).toEqual(['uint8', 'uint8', 'uint8']);
    const cache = new SliceCache(dir());
    const key = cache.key('window+clahe', [{ path: 'a.dcm', size: 1, mtimeMs: 1 }]);
    cache.put(key, slices);
    const values = slices.reduce((n, s) => n + s.data.length, 0);
    expect(entrySize(cache, key)).toBeLessThan(values + 1024); // one byte a value, plus the JSON header
    const back = (await cache.get(key))!;
    back.forEach((s, i) => {
      expect([s.rows, s.cols, s.channels]).toEqual([slices[i].rows, slices[i].cols, slices[i].channels]);
      expect(Buffer.compare(bitsOf(s.data), bitsOf(slices[i].data))).toBe(0);
    });
  });

  it('keeps float32 for anything else, bit for bit: windowed values, −0, NaN, subnormals, one value off k/255', async () => {
    const unit = (await claheSlices(8, 1))[0];
    const offByOne = Float32Array.from(unit.data);
    offByOne[5] = Math.fround(offByOne[5] + 1e-7) === offByOne[5] ? 0.3 : Math.fround(offByOne[5] + 1e-7);
    const odd = Float32Array.from([0, -0, Number.NaN, 1e-42, 0.1, 2 / 255, -1]);
    for (const data of [offByOne, odd, Float32Array.from([-0, 1])]) {
      expect(cachedForm(data, 'lossless')).toBe('float32');
      const [back] = decodeCacheEntry(Buffer.from(encodeCacheEntry([{ rows: 1, cols: data.length, channels: 1, data, meta }])));
      expect(Buffer.compare(bitsOf(back.data), bitsOf(data))).toBe(0);
    }
  });

  it('still reads entries of the old format (version 1, all float32) under the same key', async () => {
    const cache = new SliceCache(dir());
    const key = cache.key('f', [{ path: 'old.dcm', size: 3, mtimeMs: 4 }]);
    const data = Float32Array.from({ length: 12 }, (_, i) => i / 7);
    let json = JSON.stringify({ version: 1, slices: [{ rows: 3, cols: 4, channels: 1, meta }] });
    json += ' '.repeat((4 - ((4 + json.length) % 4)) % 4);
    const old = Buffer.alloc(4 + json.length + data.byteLength);
    old.writeUInt32LE(json.length, 0);
    old.write(json, 4);
    old.set(bitsOf(data), 4 + json.length);
    mkdirSync(join(cache.dir, key.slice(0, 2)), { recursive: true });
    writeFileSync(join(cache.dir, key.slice(0, 2), `${key}.slices`), old);
    const [back] = (await cache.get(key))!;
    expect(Buffer.compare(bitsOf(back.data), bitsOf(data))).toBe(0);
    expect(cache.hits).toBe(1);
  });

  it('treats an entry it cannot read (a later version, an unknown form, cut short) as a miss, never as data', async () => {
    const cache = new SliceCache(dir());
    const key = cache.key('f', [{ path: 'x.dcm', size: 1, mtimeMs: 1 }]);
    const file = join(cache.dir, key.slice(0, 2), `${key}.slices`);
    const good = Buffer.from(encodeCacheEntry([slice(1)]));
    const withHeader = (header: object) => {
      const json = JSON.stringify(header);
      const out = Buffer.alloc(4 + json.length + 1024);
      out.writeUInt32LE(json.length, 0);
      out.write(json, 4);
      return out;
    };
    const bad = [
      withHeader({ version: 3, slices: [{ rows: 16, cols: 16, channels: 1, meta }] }),
      withHeader({ version: 2, slices: [{ rows: 16, cols: 16, channels: 1, meta, form: 'bfloat16' }] }),
      good.subarray(0, good.length - 1),
    ];
    for (const bytes of bad) {
      mkdirSync(join(cache.dir, key.slice(0, 2)), { recursive: true });
      writeFileSync(file, bytes);
      expect(await cache.get(key)).toBeUndefined();
    }
    expect(cache.misses).toBe(bad.length);
    cache.put(key, [slice(1)]); // rebuilt in place
    expect((await cache.get(key))![0].data[0]).toBe(1.5);
  });

  it('writes lossy float16 only when asked, under keys of their own, within the documented worst error', async () => {
    const sources = [{ path: 'a.dcm', size: 1, mtimeMs: 1 }];
    const lossless = new SliceCache(dir());
    const lossy = new SliceCache(lossless.dir, undefined, 'float16');
    expect(lossy.key('f', sources)).not.toBe(lossless.key('f', sources));
    const data = Float32Array.from({ length: 4096 }, (_, i) => Math.fround(Math.sin(i) * 0.5 + 0.5));
    const windowed: Slice = { rows: 64, cols: 64, channels: 1, data, meta };
    expect(cachedForm(data, 'lossless')).toBe('float32');
    expect(cachedForm(data, 'float16')).toBe('float16');
    lossy.put(lossy.key('f', sources), [windowed]);
    expect(entrySize(lossy, lossy.key('f', sources))).toBeLessThan(2 * data.length + 1024);
    expect(await lossless.get(lossless.key('f', sources))).toBeUndefined();
    const [back] = (await lossy.get(lossy.key('f', sources)))!;
    const worst = data.reduce((max, v, i) => Math.max(max, Math.abs(back.data[i] - v)), 0);
    expect(worst).toBeGreaterThan(0);
    expect(worst).toBeLessThanOrEqual(2 ** -12); // values in [0, 1]: half a unit in the last place of [0.5, 1)
    // CLAHE output stays 8-bit and exact under float16 too; values beyond half precision's range stay float32.
    expect(cachedForm((await claheSlices(8, 1))[0].data, 'float16')).toBe('uint8');
    expect(cachedForm(Float32Array.from([70000, 0.5]), 'float16')).toBe('float32');
  });

  it('converts to half precision with round to nearest, ties to even, over every half value and the midpoints', () => {
    const wrong: string[] = [];
    for (let bits = 0; bits < 0x10000; bits++) {
      const value = fromFloat16Bits(bits);
      if (!Number.isFinite(value)) continue;
      if (toFloat16Bits(value) !== bits) wrong.push(`${value}`);
      if ((bits & 0x7fff) >= 0x7bff || bits & 0x8000) continue; // positive finite pairs below the largest value
      const next = fromFloat16Bits(bits + 1);
      const midpoint = (value + next) / 2;
      if (toFloat16Bits(midpoint) !== (bits & 1 ? bits + 1 : bits)) wrong.push(`tie ${midpoint}`); // a tie goes to the even neighbour
      if (toFloat16Bits(midpoint + (next - value) / 8) !== bits + 1) wrong.push(`above ${midpoint}`);
    }
    expect(wrong).toEqual([]);
  });
});
