import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SliceCache } from '../../src/data/cache.ts';
import type { Slice } from '../../src/data/types.ts';

const slice = (value: number): Slice => ({ rows: 16, cols: 16, channels: 1, data: new Float32Array(256).fill(value), meta: { source: `s${value}.dcm`, format: 'dicom' } });
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
    expect((await cache.get(key))!.map((s) => s.data[0])).toEqual([1, 2]);
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
