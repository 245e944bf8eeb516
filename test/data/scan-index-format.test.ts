import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { log } from '../../src/core/log.ts';
import { encodeScanIndex, readScanIndex, SCAN_INDEX_VERSION } from '../../src/data/datasets/scan-index.ts';
import type { SliceMeta } from '../../src/data/types.ts';
import { scanHeaders, type FileEntry, type ScannedFile } from '../../src/data/datasets/scan.ts';

let work: string;
beforeAll(() => (work = mkdtempSync(join(tmpdir(), 'sliceseq-scan-format-'))));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const orientation: [number, number, number, number, number, number] = [1, 0, 0, 0, 1, 0];
const files: ScannedFile[] = [
  { path: '/data/ünïcødé 患者/ß-1.dcm', size: 1234, mtimeMs: 1_700_000_000_123.25, metas: [{ studyInstanceUid: '1.2.3', seriesInstanceUid: '1.2.3.4', sopInstanceUid: 'sop-😀', instanceNumber: -2, imagePosition: [0.5, -1e-9, 1e12], imageOrientation: orientation }] },
  { path: '/data/volume.dcm', size: 99, mtimeMs: 0, metas: [{ studyInstanceUid: '1.2.3', instanceNumber: 0 }, { studyInstanceUid: '1.2.3', imagePosition: [1, 2, 3], imageOrientation: orientation }, {}] },
  { path: '/data/broken.dcm', size: 7, mtimeMs: 5, error: 'no pixel data — cut off' },
  { path: '/data/empty-meta.dcm', size: 0, mtimeMs: 1, metas: [{}] },
];

function roundTrip(name: string, bytes: Buffer) {
  const file = join(work, name);
  writeFileSync(file, bytes);
  return readScanIndex(file);
}

describe('scan index format', () => {
  it('round-trips every field: unicode paths and UIDs, volumes, absent fields, errors, and the key', () => {
    const back = roundTrip('full.idx', encodeScanIndex('k€y', true, files));
    expect(back).toEqual({ key: 'k€y', complete: true, files });
    // Slices of one orientation share one array.
    expect(back!.files[1].metas![1].imageOrientation).toBe(back!.files[0].metas![0].imageOrientation);
  });

  it('round-trips an empty dataset, and a checkpoint with files not yet read (left out)', () => {
    expect(roundTrip('empty.idx', encodeScanIndex('none', true, []))).toEqual({ key: 'none', complete: true, files: [] });
    expect(roundTrip('partial.idx', encodeScanIndex('k', false, [undefined, files[0], undefined, files[2]]))).toEqual({ key: 'k', complete: false, files: [files[0], files[2]] });
  });

  it('refuses a file cut short at any length, or with any byte changed, naming it damaged (never misread)', () => {
    const good = encodeScanIndex('k', true, files);
    for (let length = 0; length < good.length; length += 7) expect(() => roundTrip('cut.idx', good.subarray(0, length)), `cut at ${length}`).toThrow(/^damaged index/);
    for (let at = 0; at < good.length; at += 5) {
      const changed = Buffer.from(good);
      changed[at] ^= 0x01;
      let back;
      try {
        back = roundTrip('changed.idx', changed);
      } catch (error) {
        expect((error as Error).message, `byte ${at}`).toMatch(/^damaged index/);
        continue;
      }
      // Only a header change that leaves it readable may pass (e.g. the key's text): the files are then exact.
      expect(back === undefined || back.files.length === files.length, `byte ${at}`).toBe(true);
      if (back) expect(back.files).toEqual(files);
    }
  });

  it('another version is not read (the scan rebuilds it)', () => {
    const good = encodeScanIndex('k', true, files);
    const text = good.toString('latin1').replace(`"version":${SCAN_INDEX_VERSION}`, `"version":${SCAN_INDEX_VERSION + 1}`);
    expect(roundTrip('newer.idx', Buffer.from(text, 'latin1'))).toBeUndefined();
    expect(roundTrip('v4.json', Buffer.from(JSON.stringify({ version: 4, key: 'k', files: [] })))).toBeUndefined();
  });

  it('reads a format-5 JSON index, and refuses a damaged one', () => {
    const v5 = {
      version: 5, key: 'old', complete: true, strings: ['1.2.3', 'sop-a', '[1,0,0,0,1,0]', 'not a DICOM'],
      paths: ['/d/a.dcm', '/d/b.dcm'], sizes: [10, 20], mtimes: [1.5, 2], errors: [-1, 3], sliceStarts: [0, 1, 1],
      studies: [0], series: [-1], sops: [1], orientations: [2], instances: [4], positions: [1, 2, 3],
    };
    expect(roundTrip('v5.json', Buffer.from(JSON.stringify(v5)))).toEqual({
      key: 'old', complete: true,
      files: [
        { path: '/d/a.dcm', size: 10, mtimeMs: 1.5, metas: [{ studyInstanceUid: '1.2.3', sopInstanceUid: 'sop-a', instanceNumber: 4, imagePosition: [1, 2, 3], imageOrientation: orientation }] },
        { path: '/d/b.dcm', size: 20, mtimeMs: 2, error: 'not a DICOM' },
      ],
    });
    expect(() => roundTrip('v5-bad.json', Buffer.from(JSON.stringify({ ...v5, studies: [7] })))).toThrow(/^damaged index: slice 0/);
    expect(() => roundTrip('v5-cut.json', Buffer.from(JSON.stringify(v5).slice(0, 40)))).toThrow(/^damaged index/);
  });
});

describe('scanHeaders with a format-5 index', () => {
  it('uses the old JSON index as it is, then replaces it with the binary one', async () => {
    const folder = join(work, 'legacy');
    const entries: FileEntry[] = files.map(({ path, size, mtimeMs }) => ({ path, size, mtimeMs }));
    const indexDir = join(work, 'legacy-index');
    const readMeta = vi.fn(async (path: string) => (files.find((file) => file.path === path)!.metas as SliceMeta[] | undefined) ?? Promise.reject(new Error('not a DICOM')));
    const first = await scanHeaders(entries, { readMeta, cacheDir: indexDir, scope: folder });
    const [name] = readdirSync(indexDir);
    const binary = readScanIndex(join(indexDir, name))!;
    // Rewrite the index as format 5 would have, under the old name.
    const strings: string[] = [];
    const id = (value: string | undefined) => (value === undefined ? -1 : strings.includes(value) ? strings.indexOf(value) : strings.push(value) - 1);
    const slices = binary.files.flatMap((file) => file.metas ?? []);
    const v5 = {
      version: 5, key: binary.key, complete: true, paths: binary.files.map((file) => file.path), sizes: binary.files.map((file) => file.size), mtimes: binary.files.map((file) => file.mtimeMs),
      errors: binary.files.map((file) => id(file.error)),
      sliceStarts: binary.files.reduce((starts, file) => [...starts, starts.at(-1)! + (file.metas?.length ?? 0)], [0]),
      studies: slices.map((meta) => id(meta.studyInstanceUid)), series: slices.map((meta) => id(meta.seriesInstanceUid)), sops: slices.map((meta) => id(meta.sopInstanceUid)),
      orientations: slices.map((meta) => id(meta.imageOrientation && JSON.stringify(meta.imageOrientation))),
      instances: slices.map((meta) => meta.instanceNumber ?? null), positions: slices.flatMap((meta) => meta.imagePosition ?? [null, null, null]),
      strings,
    };
    rmSync(join(indexDir, name));
    const legacy = join(indexDir, name.replace(/\.idx$/, '.json'));
    writeFileSync(legacy, JSON.stringify(v5));
    readMeta.mockClear();
    const warn = vi.spyOn(log, 'warn').mockImplementation(() => {});
    try {
      const second = await scanHeaders(entries, { readMeta, cacheDir: indexDir, scope: folder });
      expect(warn).not.toHaveBeenCalled();
      expect(readMeta).not.toHaveBeenCalled();
      expect(second.files).toEqual(first.files);
      expect(second.fromIndex).toBe(entries.length);
    } finally {
      warn.mockRestore();
    }
    expect(existsSync(legacy)).toBe(false);
    expect(readScanIndex(join(indexDir, name))!.files).toEqual(first.files);
    expect(readFileSync(join(indexDir, name)).subarray(0, 8).toString('latin1')).toBe('SLSQIDX\n');
  });
});
