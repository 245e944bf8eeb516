import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { InterruptedError } from '../../src/core/interrupt.ts';
import type { Dataset } from '../../src/data/datasets/types.ts';
import type { Batch, BatchSource } from '../../src/data/loader.ts';
import { parseDenseOrdinalGroup } from '../../src/labels/dense-ordinal.ts';
import { binarySchema } from '../../src/labels/schema.ts';
import { resolveExperiment } from '../../src/experiments/resolve.ts';
import { DenseMapTask, LabelTask, taskFor } from '../../src/experiments/tasks/index.ts';
import { infer } from '../../src/train/inference.ts';
import { denseOrdinal } from '../../experiments/dense-ordinal.ts';
import quickstartExperiment from '../../experiments/quickstart.ts';

/**
 * The runner's two tasks (experiments/tasks/): each checks an experiment against a dataset before any data work,
 * naming the config field it refuses; and the one inference loop both tasks score through.
 */
// Slice files that do not exist: a check that read data would fail on them rather than on the config.
const patients = [{ id: 'p1', slices: [{ path: '/nonexistent/sliceseq/p1-0.dcm' }] }];
const group = parseDenseOrdinalGroup({ kind: 'dense-ordinal', name: 'damage', classes: ['erythema', 'scaling'], levels: 4 });

function dataset(parts: Partial<Dataset>): Dataset {
  return { kind: 'manifest', source: 'fixture.csv', patients, labelled: true, sliceLabelled: true, orderChecks: {}, skipped: [], ...parts } as Dataset;
}

function quickstart(sets: string[] = []) {
  return resolveExperiment(quickstartExperiment, { sets });
}

describe('taskFor', () => {
  it('picks image-level labels or dense maps from the dataset, and refuses a dataset with neither', async () => {
    const experiment = quickstart();
    expect(taskFor(experiment, dataset({ labelSchema: binarySchema(['a', 'b']) }))).toBeInstanceOf(LabelTask);
    expect(taskFor(resolveExperiment(denseOrdinal('regression'), {}), dataset({ dense: group }))).toBeInstanceOf(DenseMapTask);
    expect(() => taskFor(experiment, dataset({}))).toThrow(/^data\.dataset: fixture\.csv has no labels to train on$/);
    expect(() => taskFor(experiment, dataset({ labelSchema: binarySchema(['a']), labelled: false }))).toThrow(/data\.dataset: .*no labels/);
  });
});

describe('LabelTask.check', () => {
  const labels = dataset({ labelSchema: binarySchema(['a', 'b']) });

  it('rejects a monitor the labels cannot feed, naming train.monitor, before any slice is read', async () => {
    const task = taskFor(quickstart(['train.monitor=qwk']), labels);
    expect(() => task.check()).toThrow(/^train\.monitor: 'qwk' needs ordinal labels, and the label schema has only binary groups; use one of f2_samples/);
    expect(() => taskFor(quickstart(['train.monitor=f2_macro']), labels).check()).not.toThrow();
  });

  it('rejects slice level without slice labels and a dense model without masks, naming the field', async () => {
    const patientLabels = dataset({ labelSchema: binarySchema(['a']), sliceLabelled: false });
    expect(() => taskFor(quickstart(['data.level=slice']), patientLabels).check()).toThrow(/^data\.level: 'slice' needs slice labels, which fixture\.csv does not have$/);
    expect(() => taskFor(quickstart(['data.level=patient']), patientLabels).check()).not.toThrow();
    const dense = resolveExperiment(denseOrdinal('regression'), {});
    expect(() => taskFor(dense, labels).check()).toThrow(/^model\.dense: a dense model needs mask files/);
  });

  it('loads image-level targets (slice targets at slice level) and builds the schema criterion', async () => {
    const task = taskFor(quickstart(['data.level=slice']), dataset({ labelSchema: binarySchema(['a', 'b']) }));
    expect(task.targets).toEqual({ labelSchema: binarySchema(['a', 'b']), sliceTargets: true });
    expect(taskFor(quickstart(['data.level=patient']), dataset({ labelSchema: binarySchema(['a', 'b']) })).targets.sliceTargets).toBe(false);
    expect(Object.keys(task.fitHooks({} as BatchSource, task.criterion(), { urgent: false }))).toEqual(['schema']);
  });
});

describe('DenseMapTask.check', () => {
  const maps = dataset({ dense: group });

  it('rejects a monitor dense maps have no value for, naming train.monitor and the choices', () => {
    const task = taskFor(resolveExperiment(denseOrdinal('regression'), { sets: ['train.monitor=f2_samples'] }), maps);
    expect(() => task.check()).toThrow(/^train\.monitor: 'f2_samples' does not apply to dense-ordinal maps; use qwk, loss or last$/);
    expect(() => taskFor(resolveExperiment(denseOrdinal('regression'), {}), maps).check()).not.toThrow();
  });

  it('rejects label columns beside the masks, the slice cache and an image-level model, each naming its field', async () => {
    const experiment = resolveExperiment(denseOrdinal('regression'), {});
    expect(() => taskFor(experiment, dataset({ dense: group, labelSchema: binarySchema(['a']) })).check()).toThrow(/^data\.dataset: fixture\.csv has both mask files and label columns/);
    const cached = resolveExperiment(denseOrdinal('regression'), { sets: ['data.cacheDir=/tmp/sliceseq-cache'] });
    expect(() => taskFor(cached, maps).check()).toThrow(/^data\.cacheDir: /);
    expect(() => taskFor(quickstart(), maps).check()).toThrow(/^model\.dense: the dataset has dense-ordinal maps \(group 'damage'\)/);
  });

  it('trains on the batch maps and validates with its own scoring', () => {
    const task = taskFor(resolveExperiment(denseOrdinal('regression'), {}), maps);
    expect(task.targets).toEqual({ dense: group, sliceTargets: false });
    const hooks = task.fitHooks({} as BatchSource, task.criterion(), { urgent: false });
    expect(Object.keys(hooks).sort()).toEqual(['targetsOf', 'validate']);
  });
});

/** Batches of [patients, slices, 2] inputs with patient targets; `disposed` counts the batches given back. */
function batches(count: number): BatchSource & { disposed: number } {
  const source = {
    disposed: 0,
    batchesPerEpoch: () => count,
    async *epoch(): AsyncGenerator<Batch<tf.Tensor>> {
      for (let index = 0; index < count; index++) {
        const images = tf.tensor3d([[[index, 1], [2, index]]]);
        const mask = tf.tensor2d([[1, 1]]);
        const targets = tf.tensor2d([[index % 2]]);
        yield {
          epoch: 0, index, patientIds: [`p${index}`], sliceCounts: [2], sliceIds: [[`p${index}:0`, `p${index}:1`]], images, mask, targets,
          dispose: () => {
            tf.dispose([images, mask, targets]);
            source.disposed += 1;
          },
        };
      }
    },
  };
  return source;
}

function tinyModel(): tf.LayersModel {
  const images = tf.input({ shape: [2, 2] });
  const mask = tf.input({ shape: [2] });
  const pooled = tf.layers.flatten().apply(images) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 1, kernelInitializer: 'ones', biasInitializer: 'zeros' }).apply(pooled) as tf.SymbolicTensor;
  return tf.model({ inputs: [images, mask], outputs: out });
}

describe('infer', () => {
  it('hands each batch its outputs, targets and loss, and leaves no tensor behind', async () => {
    const model = tinyModel();
    const loader = batches(3);
    const before = tf.memory().numTensors;
    const seen: Array<{ outputs: number[]; targets: number[]; loss?: number }> = [];
    await infer(model, loader, { targetsOf: (batch) => batch.targets, lossOf: (out, targets) => tf.mean(tf.abs(tf.sub(out, targets))) }, ({ outputs, targets, loss }) => {
      seen.push({ outputs: [...outputs], targets: [...targets!], loss });
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(loader.disposed).toBe(3);
    // Weights all ones: the output is the sum of the inputs, index + 1 + 2 + index.
    expect(seen.map((s) => s.outputs)).toEqual([[3], [5], [7]]);
    expect(seen.map((s) => s.targets)).toEqual([[0], [1], [0]]);
    expect(seen.map((s) => s.loss)).toEqual([3, 4, 7]);
    model.dispose();
  });

  it('stops after the batch a stop request follows, with the batch disposed and InterruptedError', async () => {
    const model = tinyModel();
    const loader = batches(3);
    const before = tf.memory().numTensors;
    let calls = 0;
    await expect(infer(model, loader, { targetsOf: () => undefined, stop: () => calls >= 2 }, () => void (calls += 1))).rejects.toBeInstanceOf(InterruptedError);
    expect(calls).toBe(2);
    expect(loader.disposed).toBe(2);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});
