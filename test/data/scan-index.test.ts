import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import fg from 'fast-glob';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { log } from '../../src/core/log.ts';
import { listFiles, scanHeaders, type ScanResult } from '../../src/data/datasets/scan.ts';
import { readTestMeta } from '../helpers/scan-child.ts';

const child = join(import.meta.dirname, '../helpers/scan-child.ts');
const FILES = 240;
let work: string;
let folder: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'sliceseq-scan-index-'));
  folder = join(work, 'files');
  mkdirSync(folder);
  for (let i = 0; i < FILES; i++) {
    const study = `study-${Math.floor(i / 30)}`;
    const meta = i % 97 === 5 ? 'not json' : JSON.stringify({ studyInstanceUid: study, sopInstanceUid: `sop-${i}`, instanceNumber: i % 30, imagePosition: [0, 0, (i % 30) * 5], imageOrientation: [1, 0, 0, 0, 1, 0] });
    writeFileSync(join(folder, `f${String(i).padStart(4, '0')}.meta`), meta);
  }
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A scan in this process, counting the files it reads. */
async function scanHere(indexDir: string): Promise<{ scan: ScanResult; read: number }> {
  let read = 0;
  const entries = await listFiles(folder, ['*.meta']);
  const scan = await scanHeaders(entries, { readMeta: (path) => (read++, readTestMeta(path)), cacheDir: indexDir, scope: folder, checkpointEvery: 50 });
  return { scan, read };
}

/** Runs the scan in a child process and kills it with `signal` after `afterMs` (or lets it finish). */
function scanInChild(indexDir: string, afterMs: number | null, signal: NodeJS.Signals = 'SIGKILL'): Promise<string> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', child, folder, indexDir, '25', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (chunk) => (out += chunk));
    proc.on('error', reject);
    proc.on('exit', () => resolve(out));
    if (afterMs !== null) setTimeout(() => proc.kill(signal), afterMs);
  });
}

describe('header-scan index under interruption', () => {
  let reference: ScanResult;
  beforeAll(async () => {
    reference = (await scanHere(join(work, 'reference'))).scan;
    expect(reference.files.filter((f) => f.error)).toHaveLength(3);
  });

  // Kill points spread over process start, the scan with its checkpoints, and the final write.
  it.each([
    [150, 'SIGKILL'],
    [600, 'SIGKILL'],
    [900, 'SIGKILL'],
    [1200, 'SIGINT'],
    [1500, 'SIGKILL'],
    [2200, 'SIGKILL'],
    [3000, 'SIGINT'],
  ] as const)('killed after %i ms (%s): the next scan uses what was saved or rebuilds, and gives the same result', async (afterMs, signal) => {
    const indexDir = join(work, `killed-${afterMs}-${signal}`);
    await scanInChild(indexDir, afterMs, signal);
    const warn = vi.spyOn(log, 'warn').mockImplementation(() => {});
    try {
      const { scan, read } = await scanHere(indexDir);
      expect(warn).not.toHaveBeenCalled(); // never a damaged index
      expect(scan.files).toEqual(reference.files);
      expect(read + scan.fromIndex).toBe(FILES);
      expect(read).toBe(scan.read);
      // Then complete: a third scan reads nothing.
      expect((await scanHere(indexDir)).read).toBe(0);
    } finally {
      warn.mockRestore();
    }
  });

  it('a checkpoint saves work: a scan killed once it has written one is resumed, not restarted', async () => {
    const indexDir = join(work, 'resumed');
    const proc = spawn(process.execPath, ['--import', 'tsx', child, folder, indexDir, '25', '2'], { stdio: 'ignore' });
    const exited = new Promise((resolve) => proc.on('exit', resolve));
    while (!(existsSync(indexDir) && readdirSync(indexDir).some((name) => name.endsWith('.idx'))) && proc.exitCode === null) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    proc.kill('SIGKILL');
    await exited;
    const { scan, read } = await scanHere(indexDir);
    expect(read).toBeLessThanOrEqual(FILES - 25);
    expect(scan.files).toEqual(reference.files);
  });

  it('a damaged index (cut short, a changed byte, garbage) is rebuilt with a warning, and a dead writer\'s temp file removed', async () => {
    const indexDir = join(work, 'damaged');
    await scanHere(indexDir);
    const [name] = readdirSync(indexDir);
    expect(name).toMatch(/^scan-[0-9a-f]{16}\.idx$/);
    const path = join(indexDir, name);
    const good = readFileSync(path);
    const flipped = Buffer.from(good);
    flipped[good.length - 10] ^= 0x20; // a string's byte: only the checksum can tell
    const damaged = [good.subarray(0, good.length / 2), good.subarray(0, 12), good.subarray(0, good.length - 1), flipped, Buffer.from('garbage')];
    const temp = join(indexDir, `.${name}.999999999.1.tmp`); // pid 999999999 does not exist
    for (const bytes of damaged) {
      writeFileSync(path, bytes);
      writeFileSync(temp, good.subarray(0, 100));
      const warn = vi.spyOn(log, 'warn').mockImplementation(() => {});
      try {
        const { scan, read } = await scanHere(indexDir);
        expect(warn).toHaveBeenCalledWith(expect.stringMatching(/^rebuilding the scan index .*damaged index/));
        expect(read).toBe(FILES);
        expect(scan.files).toEqual(reference.files);
      } finally {
        warn.mockRestore();
      }
      expect(existsSync(temp)).toBe(false);
    }
  });
});

describe('listFiles', () => {
  it('lists `*.<ext>` patterns from one readdir as fast-glob does (any case, no dot files, no folders, no broken links)', async () => {
    const dir = join(work, 'listing');
    mkdirSync(join(dir, 'folder.dcm'), { recursive: true });
    for (const name of ['a.dcm', 'B.DCM', '.hidden.dcm', '.dcm', 'c.dcm.txt', 'space d.dcm', 'e.Dcm', 'f.png']) writeFileSync(join(dir, name), name);
    symlinkSync(join(dir, 'a.dcm'), join(dir, 'link.dcm'));
    symlinkSync(join(dir, 'nowhere'), join(dir, 'broken.dcm'));
    symlinkSync(join(dir, 'folder.dcm'), join(dir, 'folder-link.dcm'));
    const globbed = async (patterns: string[]) => (await fg(patterns, { cwd: dir, absolute: true, onlyFiles: true, caseSensitiveMatch: false })).sort();
    for (const patterns of [['*.dcm'], ['*.DCM', '*.png']]) {
      const listed = await listFiles(dir, patterns);
      expect(listed.map((entry) => entry.path)).toEqual(await globbed(patterns));
      expect(listed.map((entry) => entry.size)).toEqual(listed.map((entry) => readFileSync(entry.path).length));
    }
    expect((await listFiles(dir, ['*.dcm'])).map((entry) => entry.path.slice(dir.length + 1))).toEqual(['B.DCM', 'a.dcm', 'e.Dcm', 'link.dcm', 'space d.dcm']);
    // Another glob goes through fast-glob; a missing folder lists nothing either way.
    expect((await listFiles(dir, ['[ab].dcm'])).map((entry) => entry.path)).toEqual(await globbed(['[ab].dcm']));
    expect(await listFiles(join(work, 'no-such-folder'), ['*.dcm'])).toEqual([]);
  });
});
