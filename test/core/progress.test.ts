import { describe, expect, it } from 'vitest';
import { Progress, formatDuration } from '../../src/core/progress.ts';

function fakeStream(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, stream: { isTTY, write: (text: string) => chunks.push(text) } as unknown as NodeJS.WriteStream };
}

describe('Progress', () => {
  it('prints plain periodic lines with step, rate and ETA when not a terminal', () => {
    let now = 0;
    const { chunks, stream } = fakeStream(false);
    const progress = new Progress({ label: 'train', total: 10, stream, intervalSeconds: 5, now: () => now });
    now = 1;
    progress.tick(); // 1 s since start: under the interval, nothing printed
    now = 6;
    progress.tick(2, 'loss 0.5');
    expect(chunks).toEqual(['train 3/10 0.50 step/s ETA 14s loss 0.5\n']);
    now = 7;
    progress.tick(7); // the last step always prints
    expect(chunks[1]).toBe('train 10/10 1.43 step/s ETA 0s\n');
  });

  it('redraws a bar in place on a terminal', () => {
    let now = 0;
    const { chunks, stream } = fakeStream(true);
    const saved = process.env.CI;
    delete process.env.CI;
    const progress = new Progress({ label: 'epoch 1', total: 4, stream, now: () => now });
    now = 2;
    progress.tick(2);
    process.env.CI = saved;
    expect(chunks[0]).toBe('\r\x1b[Kepoch 1 2/4 [##########----------] 1.00 step/s ETA 2s');
  });

  it('formats durations', () => {
    expect(formatDuration(59)).toBe('59s');
    expect(formatDuration(61)).toBe('1m01s');
    expect(formatDuration(3700)).toBe('1h01m');
    expect(formatDuration(Infinity)).toBe('?');
  });
});
