import { beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runExperiment } from '../../src/experiments/run.ts';
import { tinyDemoData, tinyExperiment } from './helpers.ts';

const epochs = 8;

/** Starts `sliceseq run` and kills it with SIGKILL as soon as its first checkpoint is complete. */
async function runAndKill(experimentFile: string, out: string, runDir: string): Promise<void> {
  const child = spawn(process.execPath, ['bin/sliceseq.js', 'run', experimentFile, '--out', out], { stdio: 'ignore' });
  const index = join(runDir, 'checkpoints', 'index.json');
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (existsSync(index)) {
        child.kill('SIGKILL');
        clearInterval(timer);
      }
    }, 20);
    child.on('exit', () => {
      clearInterval(timer);
      resolve();
    });
    child.on('error', reject);
  });
}

describe('checkpoints and resume', () => {
  let data: string;
  let root: string;
  beforeAll(async () => {
    ({ root, data } = await tinyDemoData());
  });

  it('a run killed with kill -9 and resumed ends with the same metrics as an uninterrupted run', async () => {
    const experiment = tinyExperiment(data, { train: { epochs, batchSize: 4 } });
    const reference = await runExperiment(experiment, { out: join(root, 'reference') });

    // .mts: outside a "type": "module" package a .ts file would load as CommonJS.
    const experimentFile = join(root, 'tiny.mts');
    writeFileSync(experimentFile, `export default ${JSON.stringify(experiment)};\n`);
    const out = join(root, 'killed');
    const runDir = join(out, 'tiny-seed3-fold0');
    await runAndKill(experimentFile, out, runDir);
    const checkpoint = JSON.parse(readFileSync(join(runDir, 'checkpoints', 'index.json'), 'utf8')) as { last: string };
    const savedEpoch = JSON.parse(readFileSync(join(runDir, 'checkpoints', checkpoint.last, 'state.json'), 'utf8')).epoch as number;
    expect(savedEpoch).toBeLessThan(epochs); // killed mid-run, not after it finished
    expect(existsSync(join(runDir, 'metrics.json'))).toBe(false);

    await expect(runExperiment(experiment, { out })).rejects.toThrow(/already exists: pass --resume/);
    const resumed = await runExperiment(experiment, { out, resume: true });
    expect(resumed.state.epoch).toBe(epochs);
    expect(resumed.metrics).toEqual(reference.metrics);
    // Every epoch record matches but the live tensor count, which differs between processes, and the timings.
    const timings = { tensors: undefined, epoch_seconds: undefined, train_seconds: undefined, train_slices_per_second: undefined, data_wait_fraction: undefined };
    const history = (dir: string) =>
      readFileSync(join(dir, 'history.jsonl'), 'utf8').trim().split('\n').map((line) => ({ ...JSON.parse(line), ...timings }));
    expect(history(resumed.runDir)).toEqual(history(reference.runDir));
    // Two 8-epoch runs and a child process that loads the backend: minutes on a busy 2-core machine.
  }, 180_000);
});
