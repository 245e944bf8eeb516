import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ABLATION_FILES,
  checkResume,
  readEnvironment,
  readRunConfig,
  RUN_FILES,
  readHistory,
  readRunFiles,
  readRunPredictions,
  readTrialAttempts,
  runDirName,
  runPath,
  writeHistory,
  writePredictions,
  writeTrialRecord,
} from '../../src/runs/index.ts';
import type { ExperimentInput } from '../../src/experiments/config.ts';
import { resolveExperiment } from '../../src/experiments/resolve.ts';
import { loadModel } from '../../src/models/io.ts';
import { useBackend } from '../helpers/backend.ts';
import { ones, tidy, zeros, type Tensor } from '@tensorflow/tfjs';

const fixture = new URL('../fixtures/runs/v0.1-tiny-seed3-fold0', import.meta.url).pathname;
const temp = mkdtempSync(join(tmpdir(), 'sliceseq-runs-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

describe('the run directory module', () => {
  it('reads every file of a run directory written by sliceseq 0.1 (before src/runs existed)', async () => {
    const files = await readRunFiles(fixture);
    expect(files.missing).toEqual([]);
    expect(files.config?.name).toBe('tiny');
    expect(files.environment?.split.test.length).toBeGreaterThan(0);
    expect(files.history.map((record) => record.epoch)).toEqual([1, 2]);
    expect(files.metrics?.best_epoch).toBeGreaterThanOrEqual(1);
    expect(files.classes).toEqual(files.thresholds!.classes);
    expect(files.test!.ids).toEqual(files.environment!.split.test);
    expect(files.classificationReport!.classes.map((row) => row.label)).toEqual(files.classes);
  });

  it('resumes a sliceseq 0.1 run: its config (saved before configs were resolved) is brought to the resolved form first', () => {
    const saved = readRunConfig(fixture);
    const fingerprint = readEnvironment(fixture).data.fingerprint;
    const now = resolveExperiment(saved as ExperimentInput);
    // Read as saved, the 0.1 config lacks the defaults a resolved config holds, and the resume would be refused.
    expect(() => checkResume(fixture, now, fingerprint)).toThrow(/cannot resume [\s\S]*model\.decoder\.embeddingSize: undefined → 16/);
    const plan = checkResume(fixture, now, fingerprint, { migrate: (config) => resolveExperiment(config as ExperimentInput) });
    expect(plan.changes).toEqual({});
  });

  it("loads the model a sliceseq 0.1 run saved (its recurrent layers named the state size 'units')", async () => {
    await useBackend();
    const model = await loadModel(runPath(fixture, 'model'));
    const sizes = model.layers.flatMap((layer) => {
      const config = layer.getConfig();
      return 'hidden' in config ? [`${layer.getClassName()}:${config.hidden}`] : [];
    });
    expect(sizes.sort()).toEqual(['SliceseqLabelDecoder:4', 'SliceseqMaskedRecurrent:8']);
    const output = tidy(() => (model.predict([zeros([1, 2, 32, 32, 3]), ones([1, 2])]) as Tensor).shape);
    expect(output).toEqual([1, 6]);
    model.dispose();
  });

  it('writes the predictions files byte for byte as sliceseq 0.1 did', async () => {
    const table = await readRunPredictions(fixture, 'test', (await readRunFiles(fixture)).classes);
    const classes = [...table.columns];
    const dir = join(temp, 'rewritten');
    writePredictions(dir, 'test', table);
    // The 0.1 file also holds the `any` column; the binary columns are the same text.
    const columnsOf = (text: string, names: string[]) => {
      const [header, ...rows] = text.trim().split('\n').map((line) => line.split(','));
      const keep = ['id', ...names, ...names.map((c) => `true_${c}`)].map((name) => header.indexOf(name));
      return rows.map((row) => keep.map((k) => row[k]).join(','));
    };
    const old = readFileSync(runPath(fixture, 'predictionsTest'), 'utf8');
    const written = readFileSync(runPath(dir, 'predictionsTest'), 'utf8');
    expect(columnsOf(written, classes)).toEqual(columnsOf(old, classes));
  });

  it('names the file and line of a bad history record', () => {
    const dir = join(temp, 'history');
    writeHistory(dir, [{ epoch: 1, train_loss: 0.5 }]);
    expect(readHistory(dir)).toEqual([{ epoch: 1, train_loss: 0.5 }]);
    writeFileSync(runPath(dir, 'history'), '{"epoch":1}\n{"epoch":"two"}\n');
    expect(() => readHistory(dir)).toThrow(/history\.jsonl line 2[\s\S]*epoch/);
  });

  it('names a bad field of a run file', async () => {
    const dir = join(temp, 'bad-environment');
    cpSync(fixture, dir, { recursive: true });
    writeFileSync(runPath(dir, 'environment'), JSON.stringify({ sliceseq: '0.1.0' }));
    await expect(readRunFiles(dir)).rejects.toThrow(/environment\.json[\s\S]*split/);
  });

  it('keeps trial records and their attempts', () => {
    const dir = join(temp, 'trial');
    expect(readTrialAttempts(dir)).toEqual([]);
    const attempt = { pid: 1, host: 'h', started: 'now', status: 'running' as const, resumed: false };
    writeTrialRecord(dir, { ablation: 'a', name: 'v-seed0-fold0', variant: 'v', seed: 0, fold: 0, attempts: [attempt] });
    expect(readTrialAttempts(dir)).toEqual([attempt]);
  });

  it('spells every name in one place', () => {
    expect(runDirName('tiny', 3, 0)).toBe('tiny-seed3-fold0');
    expect(Object.values(RUN_FILES)).toContain('metrics.json');
    expect(ABLATION_FILES.plan).toBe('ablation.json');
  });
});
