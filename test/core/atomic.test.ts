import { describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../../src/core/atomic.ts';

describe('writeFileAtomic', () => {
  it('writes, replaces, and leaves no temporary file behind', () => {
    const dir = mkdtempSync(join(tmpdir(), 'atomic-'));
    const path = join(dir, 'nested', 'metrics.json');
    writeJsonAtomic(path, { f2: 0.5 });
    writeJsonAtomic(path, { f2: 0.75 });
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ f2: 0.75 });
    expect(readdirSync(join(dir, 'nested'))).toEqual(['metrics.json']);
  });

  it('keeps the old content when the write fails', () => {
    const dir = mkdtempSync(join(tmpdir(), 'atomic-'));
    const path = join(dir, 'result.txt');
    writeFileAtomic(path, 'old');
    // A directory where the file should go makes the rename fail after the temp file was written.
    const blocked = join(dir, 'blocked');
    mkdirSync(blocked);
    mkdirSync(join(blocked, 'inner'));
    expect(() => writeFileAtomic(blocked, 'new')).toThrow();
    expect(readFileSync(path, 'utf8')).toBe('old');
    expect(readdirSync(dir).sort()).toEqual(['blocked', 'result.txt']);
  });
});
