import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerDemoData } from '../../src/cli/commands/demo-data.ts';
import { setLogLevel } from '../../src/core/log.ts';
import { runCli } from '../helpers/cli.ts';

let work: string;

const run = (...args: string[]) => runCli(registerDemoData, 'demo-data', ...args);

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
    expect(readdirSync(dir).sort()).toEqual(['demo-manifest.json', 'solution.csv', 'stage_2_sample_submission.csv', 'stage_2_test', 'stage_2_train', 'stage_2_train.csv']);
  });

  it('refuses a non-empty folder without --force, and leaves it alone', async () => {
    const dir = join(work, 'busy');
    mkdirSync(dir);
    writeFileSync(join(dir, 'notes.txt'), 'keep me');
    await expect(run(dir, '--patients', '2', '--size', '16')).rejects.toThrow(`${dir} is not empty; pass --force`);
    expect(readdirSync(dir)).toEqual(['notes.txt']);
  });

  it('replaces an earlier demo dataset with --force (keeping unrelated files)', async () => {
    const dir = join(work, 'replaced');
    await run(dir, '--patients', '2', '--seed', '1', '--size', '16', '--slices', '3');
    writeFileSync(join(dir, 'notes.txt'), 'keep me');
    const first = readdirSync(join(dir, 'stage_2_train'));
    await run(dir, '--patients', '2', '--seed', '9', '--size', '16', '--slices', '3', '--force');
    const second = readdirSync(join(dir, 'stage_2_train'));
    expect(second).toHaveLength(6);
    expect(second.some((name) => first.includes(name))).toBe(false);
    expect(existsSync(join(dir, 'notes.txt'))).toBe(true);
  });

  it('rejects bad options before touching the folder', async () => {
    const dir = join(work, 'replaced');
    await expect(run(dir, '--patients', '2', '--slices', '9-3', '--force')).rejects.toThrow(/slices: min must not exceed max/);
    expect(readdirSync(join(dir, 'stage_2_train'))).toHaveLength(6);
    await expect(run(dir, '--patients', 'many')).rejects.toThrow("--patients must be a positive whole number, got 'many'");
  });
});

describe('sliceseq demo-data --kind', () => {
  it.each([
    ['organs', 'liver healthy:', 4],
    ['ordinal', 'effusion 0:', 3],
    ['chest', 'Cardiomegaly 0:', 1],
  ])('%s writes a manifest dataset with the kind’s default slices and reports label counts', async (kind, count, slices) => {
    const dir = join(work, kind);
    const out = await run(dir, '--kind', kind, '--patients', '3', '--size', '16');
    expect(out).toContain(`3 patients, ${3 * slices} slices`);
    expect(out).toContain(count);
    expect(readdirSync(dir).sort()).toEqual(['demo-manifest.json', 'images', 'manifest.csv']);
    expect(readFileSync(join(dir, 'manifest.csv'), 'utf8').split('\n')[0]).toMatch(/^patient_id,path,slice,/);
  });

  it('replaces an earlier manifest dataset with --force, keeping unrelated files', async () => {
    const dir = join(work, 'replace');
    mkdirSync(dir);
    writeFileSync(join(dir, 'notes.txt'), 'keep me');
    await expect(run(dir, '--kind', 'ordinal', '--patients', '2', '--size', '16')).rejects.toThrow(`${dir} is not empty; pass --force`);
    // --force replaces demo data only: a folder without demo-manifest.json is refused.
    await expect(run(dir, '--kind', 'ordinal', '--patients', '2', '--size', '16', '--force')).rejects.toThrow(/holds no demo-manifest\.json/);
    rmSync(join(dir, 'notes.txt'));
    await run(dir, '--kind', 'ordinal', '--patients', '4', '--size', '16', '--slices', '1');
    writeFileSync(join(dir, 'notes.txt'), 'keep me');
    await run(dir, '--kind', 'ordinal', '--patients', '2', '--size', '16', '--slices', '1', '--force');
    expect(readdirSync(join(dir, 'images'))).toEqual(['P0001', 'P0002']);
    expect(existsSync(join(dir, 'notes.txt'))).toBe(true);
  });

  it('rejects an unknown kind, options that do not apply, and bad values before touching the folder', async () => {
    const dir = join(work, 'organs');
    await expect(run(dir, '--kind', 'mri')).rejects.toThrow("--kind must be one of rsna-ich, organs, ordinal, chest, dense-ordinal, got 'mri'");
    await expect(run(dir, '--kind', 'chest', '--test-patients', '2', '--force')).rejects.toThrow(/--test-patients applies to --kind rsna-ich only/);
    await expect(run(dir, '--kind', 'organs', '--slices', '5-2', '--force')).rejects.toThrow(/slices: min must not exceed max/);
    expect(readdirSync(join(dir, 'images'))).toHaveLength(3);
  });
});
