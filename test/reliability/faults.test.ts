import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCommand } from '../../src/cli/commands/run.ts';
import { INTERRUPTED_EXIT, Interrupt } from '../../src/core/interrupt.ts';
import { log, setLogLevel } from '../../src/core/log.ts';
import { Rng } from '../../src/core/rng.ts';
import type { Batch, BatchSource } from '../../src/data/loader.ts';
import { runExperiment } from '../../src/experiments/run.ts';
import { binarySchema } from '../../src/labels/schema.ts';
import { buildCriterion } from '../../src/losses/criterion.ts';
import { buildModel } from '../../src/models/build.ts';
import { runPath } from '../../src/runs/index.ts';
import { Checkpoints, type TrainingState } from '../../src/train/checkpoint.ts';
import { createOptimizer } from '../../src/train/optimizers.ts';
import { createSchedule } from '../../src/train/schedules.ts';
import { fit } from '../../src/train/trainer.ts';
import { useBackend } from '../helpers/backend.ts';
import { tinyDemoData, tinyExperiment } from '../train/helpers.ts';

/** Ctrl-C and interrupted runs (issue 24 item 5), and --resume where there is nothing to resume (items 3, 11). */
const schema = binarySchema(['a', 'b']);
const BATCHES = 6;

/**
 * Batches handed out at once (as a loader with prefetched batches does: no macrotask between them); `onBatch`
 * runs as each is handed out.
 */
function source(onBatch: (index: number) => void = () => {}): BatchSource {
  return {
    batchesPerEpoch: () => BATCHES,
    async *epoch(epoch: number) {
      for (let index = 0; index < BATCHES; index++) {
        onBatch(index);
        const tensors = {
          images: tf.randomNormal([2, 2, 8, 8, 1], 0, 1, 'float32', index) as tf.Tensor5D,
          mask: tf.ones([2, 2]) as tf.Tensor2D,
          targets: tf.tensor2d([[0, 1], [1, 0]]),
        };
        yield { epoch, index, patientIds: [`p${index}a`, `p${index}b`], sliceCounts: [2, 2], sliceIds: [[`p${index}a-0`, `p${index}a-1`], [`p${index}b-0`, `p${index}b-1`]], ...tensors, dispose: () => tf.dispose(Object.values(tensors)) } satisfies Batch;
      }
    },
  };
}

let dir: string;
beforeAll(async () => {
  await useBackend();
  dir = mkdtempSync(join(tmpdir(), 'sliceseq-reliability-faults-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  vi.restoreAllMocks();
  setLogLevel('info');
});

async function train(name: string, interrupt: Interrupt, loaders: { train?: BatchSource; val?: BatchSource }): Promise<TrainingState> {
  setLogLevel('silent');
  const model = buildModel(
    { backbone: { name: 'small-vgg', channels: [4] }, encoder: { name: 'gru', hidden: 4 }, decoder: { name: 'lstm', hidden: 4 } },
    { schema, rng: new Rng(0), inputShape: { height: 8, width: 8, channels: 1 }, level: 'patient' },
  );
  const optimizer = createOptimizer({ name: 'adam', lr: 1e-3 });
  try {
    return await fit(
      {
        model, schema, optimizer, interrupt,
        criterion: buildCriterion(schema, { groups: { labels: { loss: { name: 'bce' }, weight: 1 } } }),
        schedule: createSchedule({ name: 'constant' }),
        trainLoader: loaders.train ?? source(),
        valLoader: loaders.val ?? source(),
        checkpoints: new Checkpoints(join(dir, name)),
      },
      { epochs: 2, level: 'patient', monitor: 'loss', zeroDivision: 0 },
    );
  } finally {
    model.dispose();
    optimizer.optimizer.dispose();
  }
}

describe('Ctrl-C during training', () => {
  it('is seen after the batch it arrived in, even when the next batches are already prefetched', async () => {
    const interrupt = new Interrupt({ first: 'stop' });
    // A signal's handler runs as a macrotask: scheduled while batch 0 is handed out, like a Ctrl-C during its step.
    const state = await train('within-batch', interrupt, { train: source((index) => index === 0 && setImmediate(() => interrupt.press())) });
    expect(state.stopped).toBe('interrupted');
    expect(state.epoch).toBe(0);
    expect(state.batchInEpoch).toBe(1);
  });

  it('a second Ctrl-C during validation saves the finished training pass before the command exits (no process.exit)', async () => {
    const exit = vi.spyOn(process, 'exit').mockImplementation(() => {
      throw new Error('process.exit called');
    });
    const interrupt = new Interrupt({ first: 'stop' });
    interrupt.saving = true;
    const state = await train('second-press', interrupt, { val: source((index) => index === 0 && setImmediate(() => (interrupt.press(), interrupt.press()))) });
    expect(exit).not.toHaveBeenCalled();
    expect(state.stopped).toBe('interrupted');
    const index = JSON.parse(readFileSync(join(dir, 'second-press', 'index.json'), 'utf8'));
    const saved = JSON.parse(readFileSync(join(dir, 'second-press', index.last, 'state.json'), 'utf8'));
    expect(saved).toMatchObject({ epoch: 0, batchInEpoch: BATCHES });
  });

  it('exits 130 at once where nothing is being saved, and on a third Ctrl-C', () => {
    const exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    vi.spyOn(log, 'warn').mockImplementation(() => {});
    const idle = new Interrupt({ first: 'stop' });
    idle.press();
    expect(exit).not.toHaveBeenCalled();
    idle.press();
    expect(exit).toHaveBeenLastCalledWith(INTERRUPTED_EXIT);
    exit.mockClear();
    const saving = new Interrupt({ first: 'stop' });
    saving.saving = true;
    saving.press();
    saving.press();
    expect(exit).not.toHaveBeenCalled();
    saving.press();
    expect(exit).toHaveBeenLastCalledWith(INTERRUPTED_EXIT);
  });

  it('aborts its signal at the first Ctrl-C (what `report --watch` sleeps on)', () => {
    vi.spyOn(log, 'warn').mockImplementation(() => {});
    const interrupt = new Interrupt({ first: 'stop' });
    expect(interrupt.signal.aborted).toBe(false);
    interrupt.press();
    expect(interrupt.signal.aborted).toBe(true);
    expect(interrupt.requested).toBe(true);
  });
});

describe('an interrupted `sliceseq run`', () => {
  let data: string;
  let root: string;
  let file: string;
  beforeAll(async () => {
    ({ root, data } = await tinyDemoData());
    file = join(root, 'tiny.mts');
    writeFileSync(file, `export default ${JSON.stringify(tinyExperiment(data, { train: { epochs: 2, batchSize: 4 } }))};\n`);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('--resume where there is no run is refused (a typo in --out or --seed would start from scratch), --resume-or-start starts it', async () => {
    const out = join(root, 'typo');
    await expect(runCommand(file, { out, set: [], resume: true })).rejects.toThrow(/--resume: .*tiny-seed3-fold0 holds no run to resume \(no config\.json\); check --out, --seed and split\.fold, or pass --resume-or-start/);
    expect(existsSync(out)).toBe(false);
  });

  it('exits 130 and prints the command that resumes it; --resume with --force is refused; --resume finishes it', async () => {
    const out = join(root, 'runs');
    const stderr: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => (stderr.push(String(chunk)), true));
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    vi.spyOn(log, 'warn').mockImplementation(() => {});
    // Ctrl-C as soon as epoch 1 is logged: epoch 2 trains one batch, saves a checkpoint and stops.
    vi.spyOn(log, 'info').mockImplementation((message: string) => {
      if (message.startsWith('epoch 1:')) (process.listeners('SIGINT').at(-1) as () => void)();
    });
    const previous = process.exitCode;
    try {
      const result = await runCommand(file, { out, set: [], resumeOrStart: true, seed: 3 });
      expect(result!.state.stopped).toBe('interrupted');
      expect(process.exitCode).toBe(INTERRUPTED_EXIT);
    } finally {
      process.exitCode = previous;
    }
    expect(stderr.join('')).toContain(`interrupted; continue with: sliceseq run ${file} --out ${out} --seed 3 --resume`);
    const runDir = join(out, 'tiny-seed3-fold0');
    expect(existsSync(runPath(runDir, 'metrics'))).toBe(false);

    vi.mocked(log.info).mockImplementation(() => {});
    await expect(runExperiment(tinyExperiment(data), { out, resume: true, force: true })).rejects.toThrow(/--resume and --force together/);
    expect(existsSync(runPath(runDir, 'checkpoints'))).toBe(true);
    const resumed = await runCommand(file, { out, set: [], resume: true, seed: 3 });
    expect(resumed!.state.epoch).toBe(2);
    expect(existsSync(runPath(runDir, 'metrics'))).toBe(true);
  });
});
