import { beforeAll, describe, expect, it } from 'vitest';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { useBackend } from '../helpers/backend.ts';
import { binarySchema } from '../../src/labels/schema.ts';
import { PatientLoader, forEachBatch, type LoaderEvent } from '../../src/data/loader.ts';
import type { Slice } from '../../src/data/types.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

let tf: Awaited<ReturnType<typeof useBackend>>;
beforeAll(async () => {
  tf = await useBackend('cpu');
});

const MB = 1024 * 1024;
/** Live JS heap plus ArrayBuffers after full collections (array buffers are freed by a sweep that can lag one gc). */
const held = async () => {
  for (let i = 0; i < 2; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
};

describe('loader memory', () => {
  it('streams a dataset far larger than its queue with flat tensors and bounded memory', async () => {
    const [patientCount, slicesPerPatient, side] = [240, 16, 64];
    const sliceBytes = side * side * 4;
    const datasetBytes = patientCount * slicesPerPatient * sliceBytes; // 63 MB if it were all loaded
    const patients = Array.from({ length: patientCount }, (_, p) => ({
      id: `p${p}`,
      slices: Array.from({ length: slicesPerPatient }, (_, s) => ({ path: `${p}/${s}` })),
      targets: Float32Array.of(p % 2),
    }));
    const readSlices = async (path: string): Promise<Slice[]> => {
      await new Promise((resolve) => setImmediate(resolve));
      return [{ rows: side, cols: side, channels: 1, data: new Float32Array(side * side).fill(path.length), meta: { source: path, format: 'image' } }];
    };
    let decodedAhead = 0;
    let maxAhead = 0;
    const batchSize = 4;
    const onEvent = (event: LoaderEvent) => {
      if (event.type === 'decode-start') decodedAhead += 1;
      if (event.type === 'dispose') decodedAhead -= 1;
      maxAhead = Math.max(maxAhead, decodedAhead);
    };
    const loader = new PatientLoader({ patients, labelSchema: binarySchema(['x']) }, { batchSize, seed: 1, prefetch: 2 }, { readSlices, onEvent });

    const tensorsBefore = tf.memory().numTensors;
    // The baseline is taken once the pipeline runs (after the first batches compile code and fill the queue), so
    // what is measured is growth across the epoch: it would reach the dataset's size if batches were kept.
    let baseline = 0;
    let peak = 0;
    let batches = 0;
    await forEachBatch(loader.epoch(0), async () => {
      expect(tf.memory().numTensors).toBe(tensorsBefore + 3);
      batches += 1;
      if (batches === 3) baseline = await held();
      else if (batches % 8 === 0) peak = Math.max(peak, (await held()) - baseline);
    });
    expect(batches).toBe(patientCount / batchSize);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    // At most prefetch queued + one decoding + one held by the consumer.
    expect(maxAhead).toBeLessThanOrEqual(2 + 2);
    const batchBytes = batchSize * slicesPerPatient * sliceBytes; // 1 MB
    expect(peak).toBeLessThan(8 * batchBytes);
    console.log(`loader memory: dataset ${(datasetBytes / MB).toFixed(0)} MB, batch ${(batchBytes / MB).toFixed(1)} MB, peak growth ${(peak / MB).toFixed(1)} MB`);
  });
});
