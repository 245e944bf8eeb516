import { describe, expect, it, vi } from 'vitest';
import { log, setLogTimestamps, stampLine } from '../../src/core/log.ts';
import { Progress, formatDuration } from '../../src/core/progress.ts';

function fakeStream(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, stream: { isTTY, write: (text: string) => chunks.push(text) } as unknown as NodeJS.WriteStream };
}

describe('Progress', () => {
  it('prints plain time-stamped periodic lines with step, rate and ETA when not a terminal', () => {
    let now = 0;
    const { chunks, stream } = fakeStream(false);
    const clock = () => new Date(Date.UTC(2026, 11, 5, 8, 0, now));
    const progress = new Progress({ label: 'train', total: 10, stream, intervalSeconds: 5, now: () => now, clock });
    now = 1;
    progress.tick(); // 1 s since start: under the interval, nothing printed
    now = 6;
    progress.tick(2, 'loss 0.5');
    expect(chunks).toEqual(['2026-12-05T08:00:06Z train 3/10 0.50 step/s ETA 14s loss 0.5\n']);
    now = 7;
    progress.tick(7); // the last step always prints
    expect(chunks[1]).toBe('2026-12-05T08:00:07Z train 10/10 1.43 step/s ETA 0s\n');
  });

  it('log lines carry a time stamp when stderr is not a terminal', () => {
    const written: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => (written.push(String(chunk)), true));
    try {
      setLogTimestamps(true);
      log.warn('stamped');
      setLogTimestamps(false);
      log.warn('plain');
    } finally {
      setLogTimestamps(undefined);
      spy.mockRestore();
    }
    expect(written[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ warn: stamped\n$/);
    expect(written[1]).toBe('warn: plain\n');
    expect(stampLine('x', new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678)))).toBe('2026-01-02T03:04:05Z x');
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
