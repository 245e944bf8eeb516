import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { flattenJson } from '../../src/core/json.ts';
import { runExperiment } from '../../src/experiments/run.ts';
import { readHistory } from '../../src/runs/history.ts';
import { runPath } from '../../src/runs/layout.ts';
import { readSteps } from '../../src/runs/steps.ts';
import { testBackends } from '../helpers/backend.ts';
import { readWithTensorflow, tensorflowPython, type PythonEvent } from '../helpers/tensorboard-python.ts';
import { tinyDemoData, tinyExperiment } from '../train/helpers.ts';

/** Every (tag, step, value) of one sub-run, in file order; histograms by their total count. */
function series(files: Record<string, PythonEvent[]>, split: 'train' | 'val'): Map<string, Array<[step: number, value: number]>> {
  const out = new Map<string, Array<[number, number]>>();
  for (const [path, events] of Object.entries(files)) {
    if (!path.startsWith(`${split}/`)) continue;
    for (const event of events) {
      for (const value of event.values) {
        const number = value.histogram ? value.histogram.reduce((n, bucket) => n + bucket[2], 0) : value.simple_value!;
        out.set(value.tag, [...(out.get(value.tag) ?? []), [event.step, number]]);
      }
    }
  }
  return out;
}

describe.skipIf(!tensorflowPython)('a run writes TensorBoard files that TensorFlow reads back equal to its history', () => {
  let data: string;
  beforeAll(async () => {
    ({ data } = await tinyDemoData());
  });

  it.each(testBackends)('on %s', async (backend) => {
    const { runDir } = await runExperiment(tinyExperiment(data, { backend }), { out: join(data, '..', `runs-tb-${backend}`), report: false });
    const files = readWithTensorflow(runPath(runDir, 'tensorboard'));
    // tfjs-node's writer (TensorFlow's file names end in .v2) on a native backend (either build), the JavaScript one on wasm.
    expect(Object.keys(files).every((path) => path.endsWith(backend.startsWith('tensorflow') ? '.v2' : '.sliceseq'))).toBe(true);
    const history = readHistory(runDir);
    const steps = readSteps(runDir);
    const train = series(files, 'train');
    const val = series(files, 'val');

    // Every step (a tiny run is far below the 10,000-point bound), as steps.jsonl holds it, in float32.
    expect(steps.map((s) => s.step)).toEqual(Array.from({ length: history.at(-1)!.step as number }, (_, i) => i + 1));
    expect(train.get('step/loss')).toEqual(steps.map((s) => [s.step, Math.fround(s.loss)]));
    expect(train.get('step/learning_rate')).toEqual(steps.map((s) => [s.step, Math.fround(s.learning_rate)]));
    const perEpoch = (field: string) => history.map((r) => [r.epoch, Math.fround(r[field] as number)]);
    expect(train.get('epoch/loss')).toEqual(perEpoch('train_loss'));
    expect(train.get('epoch/learning_rate')).toEqual(perEpoch('learning_rate'));
    expect(train.get('epoch/data_wait_fraction')).toEqual(perEpoch('data_wait_fraction'));
    expect(train.get('epoch/slices_per_second')).toEqual(perEpoch('train_slices_per_second'));

    // Validation: every number of each epoch's val block, under epoch/<path>.
    const expected = new Map<string, Array<[number, number]>>();
    for (const record of history) {
      for (const [path, value] of Object.entries(flattenJson(record.val))) {
        if (typeof value === 'number') expected.set(`epoch/${path.replaceAll('.', '/')}`, [...(expected.get(`epoch/${path.replaceAll('.', '/')}`) ?? []), [record.epoch, Math.fround(value)]]);
      }
    }
    expect(val).toEqual(expected);
    expect(val.has('epoch/loss') && val.has('epoch/f2/samples') && val.has('epoch/auc/macro') && val.has('epoch/brier')).toBe(true);

    // The head's weights: one histogram per weight and epoch, counting every weight.
    const histograms = [...train.keys()].filter((tag) => tag.startsWith('head/'));
    expect(histograms.length).toBeGreaterThan(0);
    for (const tag of histograms) {
      expect(train.get(tag)!.map(([epoch]) => epoch)).toEqual(history.map((r) => r.epoch));
      expect(new Set(train.get(tag)!.map(([, count]) => count)).size).toBe(1);
    }
  });

  it('writes none with report.tensorboard false, and steps.jsonl all the same', async () => {
    const experiment = tinyExperiment(data, { report: { tensorboard: false }, train: { epochs: 1, batchSize: 4 } });
    const { runDir } = await runExperiment(experiment, { out: join(data, '..', 'runs-tb-off'), report: false });
    expect(existsSync(runPath(runDir, 'tensorboard'))).toBe(false);
    expect(readSteps(runDir).length).toBeGreaterThan(0);
  });
});
