import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nativeSummaryWriter } from '../../src/backend/summary-writer.ts';
import { crc32c, decodeEvent, encodeEvent, EventFileWriter, eventFiles, frameRecord, histogramBuckets, readEventFile, readRecords } from '../../src/runs/tensorboard.ts';
import { testBackends, useBackend } from '../helpers/backend.ts';
import { readWithTensorflow, tensorflowPython } from '../helpers/tensorboard-python.ts';

const weights = Float32Array.from({ length: 997 }, (_, i) => Math.sin(i * 0.37) * 0.3 + i * 1e-4);

/** Scalars and a histogram through one writer, then flushed. */
function writeSample(writer: { scalar(t: string, v: number, s: number): void; histogram(t: string, v: ArrayLike<number>, s: number): void; flush(): void }): void {
  writer.scalar('step/loss', 0.6931471805599453, 1);
  writer.scalar('step/loss', 0.5, 2);
  writer.scalar('epoch/auc/macro', 0.75, 1);
  writer.histogram('head/kernel', weights, 1);
  writer.flush();
}

describe('TFRecord framing and Event encoding', () => {
  it('computes CRC-32C (check value of "123456789")', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
  });

  it('reads back what it frames and encodes, with float32 scalars and [k, 3] histograms', () => {
    const event = { wallTime: 1700000000.25, step: 12345678901, values: [{ tag: 'a/b', simpleValue: 0.1 }, { tag: 'h', histogram: histogramBuckets([1, 2, 3, 4]) }] };
    const [payload] = readRecords(frameRecord(encodeEvent(event)), 'x');
    const back = decodeEvent(payload);
    expect(back.wallTime).toBe(event.wallTime);
    expect(back.step).toBe(event.step);
    expect(back.values![0]).toEqual({ tag: 'a/b', simpleValue: Math.fround(0.1) });
    expect(back.values![1]).toEqual({ tag: 'h', plugin: 'histograms', histogram: event.values[1].histogram });
  });

  it('names the file and byte of a corrupted record', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tb-'));
    const writer = new EventFileWriter(dir);
    writeSample(writer);
    const bytes = readFileSync(writer.file);
    bytes[bytes.length - 10] ^= 0xff;
    writeFileSync(writer.file, bytes);
    expect(() => readEventFile(writer.file)).toThrow(new RegExp(`${writer.file}: record at byte \\d+: bad data checksum`));
  });

  it('names a new file to sort after the files already in the folder, even within the same second', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tb-'));
    const first = new EventFileWriter(dir, { wallTime: () => 1700000000 });
    writeFileSync(join(dir, 'events.out.tfevents.1700000000.host.1.9.v2'), new Uint8Array(0));
    const second = new EventFileWriter(dir, { wallTime: () => 1700000000.5 });
    expect(eventFiles(dir).at(-1)).toBe(second.file);
    expect(second.file).toContain('tfevents.1700000001.');
    expect(first.file).toContain('tfevents.1700000000.');
  });

  it('buckets a histogram as tfjs-node does: equal widths from min to max, every value counted once', () => {
    const buckets = histogramBuckets(weights);
    expect(buckets).toHaveLength(30);
    expect(buckets.reduce((n, [, , count]) => n + count, 0)).toBe(weights.length);
    expect(buckets[0][0]).toBe(Math.min(...weights));
    expect(buckets[29][1]).toBe(Math.max(...weights));
    expect(histogramBuckets([2, 2, 2])).toEqual([[1.5, 2.5, 3]]);
    expect(histogramBuckets([])).toEqual([]);
  });
});

describe.skipIf(!tensorflowPython)("TensorFlow's reader reads the JavaScript writer's files", () => {
  it('as the same tags, steps and values', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tb-'));
    const writer = new EventFileWriter(dir);
    writeSample(writer);
    writer.sessionStart(3);
    writer.flush();
    const files = readWithTensorflow(dir);
    const events = files[writer.file.split('/').pop()!];
    expect(events[0].file_version).toBe('brain.Event:2');
    const ours = readEventFile(writer.file);
    expect(events.map((e) => e.step)).toEqual(ours.map((e) => e.step));
    expect(events.map((e) => e.wall_time)).toEqual(ours.map((e) => e.wallTime));
    expect(events.at(-1)!.session_start).toBe(true);
    const values = events.flatMap((e) => e.values);
    expect(values.map((v) => v.tag)).toEqual(['step/loss', 'step/loss', 'epoch/auc/macro', 'head/kernel']);
    expect(values.slice(0, 3).map((v) => v.simple_value)).toEqual([0.6931471805599453, 0.5, 0.75].map(Math.fround));
    expect(values[3].plugin).toBe('histograms');
    expect(values[3].histogram).toEqual(histogramBuckets(weights));
  });
});

describe.skipIf(!testBackends.includes('tensorflow'))("TensorFlow's own writer (tfjs-node) and the JavaScript writer", () => {
  it('write the same events: tags, steps, scalars and histogram buckets', async () => {
    const tf = await useBackend('tensorflow');
    const root = mkdtempSync(join(tmpdir(), 'tb-'));
    const tensors = tf.memory().numTensors;
    const native = nativeSummaryWriter(join(root, 'native'));
    expect(native).toBeDefined();
    writeSample(native!);
    native!.close();
    // Closed, it leaves no tensor behind (a process runs many runs).
    expect(tf.memory().numTensors).toBe(tensors);
    writeSample(new EventFileWriter(join(root, 'js')));
    const strip = (dir: string) => eventFiles(dir).flatMap(readEventFile).map(({ step, values }) => ({ step, values }));
    expect(strip(join(root, 'native'))).toEqual(strip(join(root, 'js')));
  });
});
