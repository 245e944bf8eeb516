import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { log } from '../../src/core/log.ts';
import { writeDemoDataset } from '../../src/data/demo/dataset.ts';
import { runExperiment } from '../../src/experiments/run.ts';
import { readEnvironment, readRunConfig, runPath } from '../../src/runs/index.ts';
import { readSteps } from '../../src/runs/steps.ts';
import { eventFiles, readEventFile } from '../../src/runs/tensorboard.ts';
import { tinyDemoData, tinyExperiment } from '../train/helpers.ts';

/** Every file below `dir` with its bytes, to show that a refused command changed nothing. */
function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder)) {
      const path = join(folder, entry);
      if (statSync(path).isDirectory()) walk(path);
      else files[relative(dir, path)] = readFileSync(path).toString('base64');
    }
  };
  walk(dir);
  return files;
}

/** History records without the live tensor count and the timings (they differ between processes and runs). */
const varying = { tensors: undefined, epoch_seconds: undefined, train_seconds: undefined, train_slices_per_second: undefined, data_wait_fraction: undefined };
const history = (runDir: string) =>
  readFileSync(runPath(runDir, 'history'), 'utf8').trim().split('\n').map((line) => ({ ...JSON.parse(line), ...varying }));

describe('the run lifecycle', () => {
  let root: string;
  let data: string;
  const quiet = { info: vi.spyOn(log, 'info').mockImplementation(() => {}), warn: vi.spyOn(log, 'warn').mockImplementation(() => {}) };
  beforeAll(async () => {
    ({ root, data } = await tinyDemoData());
  });
  afterAll(() => {
    quiet.info.mockRestore();
    quiet.warn.mockRestore();
    rmSync(root, { recursive: true, force: true });
  });

  it('continues after Ctrl-C mid-epoch with the history of an uninterrupted run, and "best" only names an end-of-epoch checkpoint', async () => {
    const experiment = tinyExperiment(data, { train: { epochs: 3, batchSize: 2 } });
    const reference = await runExperiment(experiment, { out: join(root, 'reference'), report: false });

    // Ctrl-C right after epoch 1 is logged: epoch 2 trains one batch, saves a checkpoint and stops.
    quiet.info.mockImplementation((message: string) => {
      if (message.startsWith('epoch 1:')) (process.listeners('SIGINT').at(-1) as () => void)();
    });
    const out = join(root, 'interrupted');
    const stopped = await runExperiment(experiment, { out, report: false });
    quiet.info.mockImplementation(() => {});
    expect(stopped.state.stopped).toBe('interrupted');
    expect(quiet.warn).toHaveBeenCalledWith(expect.stringMatching(/^Ctrl-C: finishing the current step/));
    const index = JSON.parse(readFileSync(join(runPath(stopped.runDir, 'checkpoints'), 'index.json'), 'utf8'));
    expect(index.last).toMatch(/^epoch-0001-batch-/);
    expect(index.best).toBe('epoch-0001');
    expect(JSON.parse(readFileSync(join(runPath(stopped.runDir, 'checkpoints'), index.best, 'state.json'), 'utf8')).batchInEpoch).toBe(0);

    const resumed = await runExperiment(experiment, { out, resume: true, report: false });
    expect(history(resumed.runDir)).toEqual(history(reference.runDir));
    expect(resumed.metrics).toEqual(reference.metrics);
    // Per-step losses too; TensorBoard is told to drop what the first attempt logged past its checkpoint.
    expect(readSteps(resumed.runDir)).toEqual(readSteps(reference.runDir));
    const files = eventFiles(join(runPath(resumed.runDir, 'tensorboard'), 'train'));
    expect(files).toHaveLength(2);
    const restart = readEventFile(files[1]);
    expect(restart[1]).toMatchObject({ sessionStart: true, step: stopped.state.step + 1 });
  });

  describe('--resume', () => {
    const experiment = () => tinyExperiment(data, { train: { epochs: 1, batchSize: 4 } });
    let runDir: string;
    let out: string;
    beforeAll(async () => {
      out = join(root, 'finished');
      runDir = (await runExperiment(experiment(), { out, report: false })).runDir;
    });

    it('refuses a changed config with a diff of what changed, and changes nothing', async () => {
      const before = snapshot(runDir);
      await expect(runExperiment(experiment(), { out, resume: true, sets: ['train.epochs=2', 'optimizer.lr=0.1'] })).rejects.toThrow(
        /cannot resume [\s\S]*optimizer\.lr: 0\.01 → 0\.1\n {2}train\.epochs: 1 → 2\n[\s\S]*--allow-changes optimizer\.lr train\.epochs/,
      );
      expect(snapshot(runDir)).toEqual(before);
    });

    it('refuses other data (another folder, another fingerprint), and changes nothing', async () => {
      const other = join(root, 'other-data');
      await writeDemoDataset(other, { patients: 16, seed: 2, slices: 4, size: 32, testPatients: 0 });
      const before = snapshot(runDir);
      await expect(runExperiment(experiment(), { out, resume: true, data: other })).rejects.toThrow(/data\.dataset\.root: [\s\S]*data\.fingerprint: /);
      await expect(runExperiment(experiment(), { out, resume: true, data: other, allowChanges: ['data.dataset.root'] })).rejects.toThrow(
        /changed:\n {2}data\.fingerprint: "v2:[0-9a-f]{16}" → "v2:[0-9a-f]{16}"\n/,
      );
      expect(snapshot(runDir)).toEqual(before);
    });

    it('a resume that fails on bad data changes no file of the run', async () => {
      const empty = join(root, 'empty-data');
      const before = snapshot(runDir);
      await expect(runExperiment(experiment(), { out, resume: true, data: empty, allowChanges: ['data'] })).rejects.toThrow(empty);
      expect(snapshot(runDir)).toEqual(before);
    });

    it('an allowed change the checkpoint cannot take (another model size) fails and changes nothing', async () => {
      const before = snapshot(runDir);
      await expect(runExperiment(experiment(), { out, resume: true, sets: ['model.encoder.hidden=16'], allowChanges: ['model'] })).rejects.toThrow(/not compatible|was the config changed/);
      expect(snapshot(runDir)).toEqual(before);
    });

    it('--allow-changes continues with the change on purpose and records it', async () => {
      const resumed = await runExperiment(experiment(), { out, resume: true, sets: ['train.epochs=2'], allowChanges: ['train.epochs'], report: false });
      expect(resumed.state.epoch).toBe(2);
      expect(history(runDir).map((record) => record.epoch)).toEqual([1, 2]);
      expect(readRunConfig(runDir).train).toMatchObject({ epochs: 2 });
      expect(readEnvironment(runDir).changes).toEqual([{ at: expect.any(String), fields: { 'train.epochs': { from: 1, to: 2 } } }]);
    });
  });

  it('leaves no run directory when the run fails before its first epoch', async () => {
    const out = join(root, 'refused');
    await expect(runExperiment(tinyExperiment(data), { out, sets: ['train.monitor=qwk'] })).rejects.toThrow(/train\.monitor/);
    expect(existsSync(out)).toBe(false);
  });
});
