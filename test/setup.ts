import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, onTestFailed, beforeEach } from 'vitest';

/**
 * Every test file runs with (1) its own temporary folder as TMPDIR, removed when the file ends, so whatever a test
 * or the processes it starts write to the temporary folder goes with it; and (2) stderr captured: logs, warnings
 * and progress lines are kept, not printed, and shown only with a failing test (those since the test before it).
 * Tests that are about a warning check it (vi.spyOn(log, 'warn')), which works on top of this.
 */
const temporary = mkdtempSync(join(tmpdir(), 'sliceseq-test-'));
process.env.TMPDIR = temporary;

const write = process.stderr.write.bind(process.stderr);
let captured: string[] = [];
process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
  captured.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
  const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
  callback?.();
  return true;
}) as typeof process.stderr.write;

beforeEach(() => {
  onTestFailed(() => {
    if (captured.length > 0) write(`--- stderr of the failing test ---\n${captured.join('')}--- end of stderr ---\n`);
  });
});
afterEach(() => {
  captured = [];
});

afterAll(() => {
  process.stderr.write = write;
  rmSync(temporary, { recursive: true, force: true });
});
