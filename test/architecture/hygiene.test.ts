import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { log } from '../../src/core/log.ts';

describe('test hygiene (test/setup.ts)', () => {
  it('gives each test file its own temporary folder, removed after the file', () => {
    expect(tmpdir()).toMatch(/sliceseq-test-[^/]+$/);
  });

  it('captures stderr instead of printing it', () => {
    const written = process.stderr.write('warn: this line is captured, not printed\n');
    expect(written).toBe(true);
    expect(() => log.warn('captured too')).not.toThrow();
  });
});
