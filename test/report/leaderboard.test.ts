import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildLeaderboard, flattenConfig, formatLeaderboard } from '../../src/report/leaderboard.ts';
import { metricValue } from '../../src/runs/metrics-file.ts';
import { findRuns } from '../../src/runs/run-dir.ts';
import { makeRuns, writeRun } from './runs.ts';

describe('leaderboard', () => {
  const root = makeRuns();

  it('finds run dirs holding both files, recursively', () => {
    expect(findRuns(root)).toHaveLength(7);
  });

  it('groups seeds, ranks by the mean and shows the differing fields', () => {
    const board = buildLeaderboard(findRuns(root));
    expect(board.metric).toBe('test.f2.samples');
    expect(board.order).toBe('higher');
    expect(board.differingFields).toEqual(['model.encoder', 'name']);
    expect(board.entries.map((e) => [e.rank, e.name, e.values.length])).toEqual([
      [1, 'lstm', 2],
      [2, 'baseline', 3],
      [3, 'no-encoder', 1],
    ]);
    const baseline = board.entries[1];
    expect(baseline.mean).toBeCloseTo(0.82, 12);
    expect(baseline.std).toBeCloseTo(0.02, 12);
    expect(baseline.seeds).toEqual([1, 2, 3]);
    expect(baseline.differing).toEqual({ 'model.encoder': 'gru', name: 'baseline' });
    const noEncoder = board.entries[2];
    expect(noEncoder.std).toBeNull();
    expect(noEncoder.missing).toEqual([join(root, 'ablations/no-encoder/seed-2')]);
  });

  it('ranks losses lowest first and reads any metric path', () => {
    const board = buildLeaderboard(findRuns(root), { metric: 'test.logloss' });
    expect(board.order).toBe('lower');
    expect(board.entries.map((e) => e.name)).toEqual(['lstm', 'baseline', 'no-encoder']);
    expect(buildLeaderboard(findRuns(root), { metric: 'val.auc.macro' }).entries[0].mean).toBeCloseTo(0.96, 12);
  });

  it('ignores further fields on request', () => {
    const board = buildLeaderboard(findRuns(root), { ignore: ['name', 'model.encoder'] });
    expect(board.entries).toHaveLength(1);
    expect(board.entries[0].values).toHaveLength(6);
  });

  it('formats mean ± std and notes runs without the metric', () => {
    const text = formatLeaderboard(buildLeaderboard(findRuns(root)));
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^rank\s+name\s+test\.f2\.samples \(higher is better\)\s+n\s+seeds\s+model\.encoder$/);
    expect(lines[1]).toMatch(/^1\s+lstm\s+0\.8600 ± 0\.0141\s+2\s+1,2\s+lstm$/);
    expect(lines[3]).toMatch(/^3\s+no-encoder\s+0\.7000 ± —\s+1\s+1\s+none$/);
    expect(text).toContain(`note: ${join(root, 'ablations/no-encoder/seed-2')} has no test.f2.samples in metrics.json`);
  });

  it('names a broken file and a missing directory', () => {
    const broken = mkdtempSync(join(tmpdir(), 'runs-'));
    writeRun(broken, 'a', { name: 'a', seed: 1 }, { val: {} });
    writeFileSync(join(broken, 'a', 'metrics.json'), '{"val": ');
    expect(() => findRuns(broken)).toThrow(/a\/metrics.json: invalid JSON/);
    expect(() => findRuns(join(broken, 'nope'))).toThrow(/runs directory '.*nope' does not exist/);
  });

  it('flattens configs and reads metric paths', () => {
    expect(flattenConfig({ a: { b: 1, c: [1, 2] }, d: 'x' })).toEqual({ 'a.b': 1, 'a.c': [1, 2], d: 'x' });
    expect(metricValue({ test: { f2: { samples: 0.5 } } }, 'test.f2.samples', 'm')).toBe(0.5);
    expect(metricValue({ test: { auc: { macro: null } } }, 'test.auc.macro', 'm')).toBeNull();
    expect(metricValue({ val: { f2: { samples: 0.5 } } }, 'test.f2.samples', 'm')).toBeUndefined();
    expect(() => metricValue({ test: { f2: { samples: 0.5 } } }, 'test.f2', 'm')).toThrow(/m: 'test\.f2' is not a metric .*metrics: test\.f2\.samples/);
  });

  it('refuses a metric path no run has, listing the ones there are', () => {
    expect(() => buildLeaderboard(findRuns(root), { metric: 'test.f2.sample' })).toThrow(/unknown metric 'test\.f2\.sample'.*test\.f2\.samples/);
  });
});
