import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeRunConfig, writeRunMetrics, type RunConfig, type RunMetrics } from '../../src/runs/index.ts';

/** Writes a run dir the way the experiment runner does. */
export function writeRun(root: string, path: string, config: object, metrics: object | null): void {
  const dir = join(root, path);
  mkdirSync(dir, { recursive: true });
  writeRunConfig(dir, config as RunConfig);
  if (metrics) writeRunMetrics(dir, metrics as RunMetrics);
}

const split = (f2: number, loss: number) => ({ f2: { samples: f2, micro: f2 + 0.01, macro: f2 - 0.01 }, auc: { macro: f2 + 0.1 }, logloss: loss });

/** Three experiments (3, 2 and 2 seeds; one run lacks test metrics) and an unfinished run, in nested dirs. */
export function makeRuns(): string {
  const root = mkdtempSync(join(tmpdir(), 'runs-'));
  const base = { name: 'baseline', model: { encoder: 'gru', hidden: 128 }, train: { lr: 0.001, epochs: 10 } };
  [0.8, 0.82, 0.84].forEach((f2, i) =>
    writeRun(root, `baseline/seed-${i + 1}`, { ...base, seed: i + 1 }, { val: split(f2 + 0.02, 0.3), test: split(f2, 0.3 + i / 100) }),
  );
  const lstm = { ...base, name: 'lstm', model: { encoder: 'lstm', hidden: 128 } };
  [0.85, 0.87].forEach((f2, i) => writeRun(root, `ablations/lstm/seed-${i + 1}`, { ...lstm, seed: i + 1 }, { val: split(f2, 0.2), test: split(f2, 0.25) }));
  writeRun(root, 'ablations/no-encoder/seed-1', { ...base, name: 'no-encoder', model: { encoder: 'none', hidden: 128 }, seed: 1 }, { val: split(0.7, 0.5), test: split(0.7, 0.5) });
  writeRun(root, 'ablations/no-encoder/seed-2', { ...base, name: 'no-encoder', model: { encoder: 'none', hidden: 128 }, seed: 2 }, { val: split(0.7, 0.5) });
  writeRun(root, 'unfinished/seed-1', { ...base, name: 'unfinished', seed: 1 }, null);
  return root;
}

