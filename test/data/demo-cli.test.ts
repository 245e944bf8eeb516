import { Command } from 'commander';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerDemoData } from '../../src/cli/commands/demo-data.ts';
import { setLogLevel } from '../../src/core/log.ts';

let work: string;

async function run(...args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  registerDemoData(program);
  const chunks: string[] = [];
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    chunks.push(String(chunk));
    return true;
  });
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    await program.parseAsync(['node', 'sliceseq', 'demo-data', ...args]);
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
  return chunks.join('');
}

beforeAll(() => {
  setLogLevel('silent');
  work = mkdtempSync(join(tmpdir(), 'sliceseq-demo-cli-'));
});
afterAll(() => {
  setLogLevel('info');
  rmSync(work, { recursive: true, force: true });
});

describe('sliceseq demo-data', () => {
  it('writes the dataset and reports what it wrote', async () => {
    const dir = join(work, 'fresh');
    const out = await run(dir, '--patients', '3', '--seed', '2', '--size', '16', '--slices', '3-4', '--test-patients', '1');
    expect(out).toMatch(/train: 3 patients/);
    expect(out).toMatch(/test: {2}1 patients/);
    expect(readdirSync(dir).sort()).toEqual(['demo-manifest.json', 'stage_2_sample_submission.csv', 'stage_2_test', 'stage_2_train', 'stage_2_train.csv']);
  });

  it('refuses a non-empty folder without --force, and leaves it alone', async () => {
    const dir = join(work, 'busy');
    mkdirSync(dir);
    writeFileSync(join(dir, 'notes.txt'), 'keep me');
    await expect(run(dir, '--patients', '2', '--size', '16')).rejects.toThrow(`${dir} is not empty; pass --force`);
    expect(readdirSync(dir)).toEqual(['notes.txt']);
  });

  it('replaces an earlier demo dataset with --force (keeping unrelated files)', async () => {
    const dir = join(work, 'busy');
    await run(dir, '--patients', '2', '--seed', '1', '--size', '16', '--slices', '3', '--force');
    const first = readdirSync(join(dir, 'stage_2_train'));
    await run(dir, '--patients', '2', '--seed', '9', '--size', '16', '--slices', '3', '--force');
    const second = readdirSync(join(dir, 'stage_2_train'));
    expect(second).toHaveLength(6);
    expect(second.some((name) => first.includes(name))).toBe(false);
    expect(existsSync(join(dir, 'notes.txt'))).toBe(true);
  });

  it('rejects bad options before touching the folder', async () => {
    const dir = join(work, 'busy');
    await expect(run(dir, '--patients', '2', '--slices', '9-3', '--force')).rejects.toThrow(/slices: min must not exceed max/);
    expect(readdirSync(join(dir, 'stage_2_train'))).toHaveLength(6);
    await expect(run(dir, '--patients', 'many')).rejects.toThrow("--patients needs an integer, got 'many'");
  });
});
