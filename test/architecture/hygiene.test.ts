import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';

describe('test hygiene (test/setup.ts)', () => {
  it('gives each test file its own temporary folder, removed after the file', () => {
    expect(tmpdir()).toMatch(/sliceseq-test-[^/]+$/);
  });
});
