import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRunConfig, readRunMetrics } from '../../src/runs/index.ts';
import { tinyDemoData, tinyExperiment } from '../train/helpers.ts';

const repo = resolve(import.meta.dirname, '../..');

/** Runs the installed command (bin/sliceseq.js) in `cwd`; returns its exit status and both outputs. */
function sliceseq(cwd: string, ...args: string[]) {
  const result = spawnSync(process.execPath, [join(repo, 'bin', 'sliceseq.js'), ...args], { cwd, encoding: 'utf8', timeout: 120_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('experiment files and the library outside the repository', () => {
  let root: string;
  let data: string;
  let folder: string;
  beforeAll(async () => {
    ({ root, data } = await tinyDemoData());
    // A researcher's own folder: no package.json, nothing installed.
    folder = join(root, 'my-study');
    mkdirSync(join(folder, 'lib'), { recursive: true });
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it.for(['.ts', '.mts', '.js'])('loads a %s experiment from a folder without package.json', (extension) => {
    const experiment = tinyExperiment(join(root, 'no-such-data'));
    writeFileSync(join(folder, `plain${extension}`), `export default ${JSON.stringify(experiment)};\n`);
    const result = sliceseq(folder, 'run', `plain${extension}`, '--out', 'runs');
    // Loaded and validated: it fails only on the data folder, which does not exist.
    expect(result.stderr).toContain(`sliceseq: no .dcm files in ${join(root, 'no-such-data')}`);
    expect(result.status).toBe(1);
  });

  it("runs an experiment that imports 'sliceseq' and a helper of its own, with --set on a top-level field", () => {
    const { name: _name, ...rest } = tinyExperiment(data, { train: { epochs: 1, batchSize: 4 } });
    writeFileSync(join(folder, 'lib', 'names.ts'), "export const experimentName: string = 'mine';\n");
    writeFileSync(
      join(folder, 'mine.ts'),
      `import { defineExperiment } from 'sliceseq';\nimport { experimentName } from './lib/names.ts';\n\n` +
        `export default defineExperiment({ name: experimentName, ...${JSON.stringify(rest)} });\n`,
    );
    const result = sliceseq(folder, 'run', 'mine.ts', '--out', 'runs', '--set', 'name=renamed');
    expect(result.stderr).not.toContain('sliceseq:');
    expect(result.status).toBe(0);
    const runDir = join(folder, 'runs', 'renamed-seed3-fold0');
    expect(readRunConfig(runDir).name).toBe('renamed');
    expect(readRunMetrics(runDir).best_epoch).toBe(1);
  });

  it("runs docs/library.md's example as written, in a project that installed sliceseq", () => {
    const section = readFileSync(join(repo, 'docs', 'library.md'), 'utf8');
    const code = /```ts\n([\s\S]*?)```/.exec(section)![1];
    const project = join(root, 'project');
    mkdirSync(join(project, 'node_modules'), { recursive: true });
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'my-study', type: 'module', private: true }));
    // What `npm install /path/to/sliceseq tsx` leaves: a link to the checkout, and tsx.
    symlinkSync(repo, join(project, 'node_modules', 'sliceseq'));
    symlinkSync(join(repo, 'node_modules', 'tsx'), join(project, 'node_modules', 'tsx'));
    writeFileSync(join(project, 'model.ts'), code);
    const result = spawnSync(process.execPath, [join(project, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'model.ts'], { cwd: project, encoding: 'utf8', timeout: 120_000 });
    expect(result.stderr).not.toMatch(/Error/);
    expect(result.stdout).toContain("[ null, 5 ] [ 'asl' ]");
    expect(result.status).toBe(0);
  });
});
