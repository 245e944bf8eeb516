import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { commands } from '../../src/cli/commands/index.ts';
import { registerAblate } from '../../src/cli/commands/ablate.ts';
import { registerDemoData } from '../../src/cli/commands/demo-data.ts';
import { registerPredict } from '../../src/cli/commands/predict.ts';
import { registerQuickstart } from '../../src/cli/commands/quickstart.ts';
import { registerReport } from '../../src/cli/commands/report.ts';
import { registerRun } from '../../src/cli/commands/run.ts';
import { childCommand, trialCommand } from '../../src/experiments/ablate.ts';
import { clearRun, planRunStart, writeEnvironment, writeRunConfig } from '../../src/runs/index.ts';
import { runCli } from '../helpers/cli.ts';

/**
 * The command line as a new user meets it (issue 24: items 1–4, 10, 11, 19): what each command accepts and
 * refuses, and which folders it will not delete or write into.
 */
const root = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);
let work: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'sliceseq-reliability-cli-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Every file name below `dir`, to show that a refused command changed nothing. */
function listing(dir: string): string[] {
  return readdirSync(dir, { recursive: true }).map(String).sort();
}

/** Every command's name, as the program registers them. */
function commandNames(): string[] {
  const program = new Command();
  for (const register of commands) register(program);
  return program.commands.map((command) => command.name());
}

describe('--help', () => {
  // Item 19: help took 5–15 s because every command loaded TensorFlow first. The hook fails any import of
  // TensorFlow or zod, so this checks what is loaded, not how long it takes.
  it.each(['', ...commandNames()])('sliceseq %s --help loads neither TensorFlow nor zod', async (name) => {
    const args = ['--import', './test/reliability/fixtures/refuse-heavy-imports.mjs', 'bin/sliceseq.js', ...(name ? [name] : []), '--help'];
    const { stdout } = await run(process.execPath, args, { cwd: root, env: { ...process.env, SLICESEQ_HOOK_LOADED: '' } });
    expect(stdout).toMatch(/^Usage: sliceseq/);
  });
});

describe('the shared option set', () => {
  const help = async (register: (program: Command) => void, name: string) => {
    const program = new Command().exitOverride();
    register(program);
    return program.commands.find((c) => c.name() === name)!.helpInformation();
  };

  it('is accepted by every training and prediction command where it applies', async () => {
    for (const flag of ['--backend', '--threads', '--workers', '--set', '--seed', '--resume', '--resume-or-start', '--force', '--allow-changes']) {
      expect(await help(registerRun, 'run')).toContain(flag);
      expect(await help(registerQuickstart, 'quickstart')).toContain(flag);
    }
    for (const flag of ['--backend', '--threads', '--workers', '--set', '--force', '--allow-changes']) expect(await help(registerAblate, 'ablate')).toContain(flag);
    for (const flag of ['--backend', '--threads', '--workers']) expect(await help(registerPredict, 'predict')).toContain(flag);
  });

  it('is refused by name, with the reason, where it does not apply', async () => {
    await expect(runCli(registerPredict, 'predict', work, '--resume')).rejects.toThrow(/predict does not take --resume: predict starts no run/);
    await expect(runCli(registerPredict, 'predict', work, '--set', 'train.epochs=2')).rejects.toThrow(/predict does not take --set: predict uses each run's saved config/);
    await expect(runCli(registerAblate, 'ablate', 'x.ts', '--seed', '3')).rejects.toThrow(/ablate does not take --seed: .*--seeds n/);
    await expect(runCli(registerAblate, 'ablate', 'x.ts', '--resume')).rejects.toThrow(/ablate does not take --resume: an ablation always continues/);
  });

  it('parses numbers once, naming the flag', async () => {
    await expect(runCli(registerRun, 'run', 'x.ts', '--threads', '0')).rejects.toThrow("--threads must be a positive whole number, got '0'");
    await expect(runCli(registerRun, 'run', 'x.ts', '--workers', 'two')).rejects.toThrow("--workers must be a non-negative whole number, got 'two'");
    await expect(runCli(registerPredict, 'predict', work, '--batch-size', '1.5')).rejects.toThrow("--batch-size must be a positive whole number, got '1.5'");
  });

  it('refuses --resume with --force (item 3): --force would delete what --resume continues', async () => {
    await expect(runCli(registerRun, 'run', 'x.ts', '--resume', '--force')).rejects.toThrow(/'--force' cannot be used with option '--resume'|'--resume' cannot be used with option '--force'/);
    await expect(runCli(registerQuickstart, 'quickstart', '--resume', '--force')).rejects.toThrow(/cannot be used with option/);
  });
});

describe('child process command lines (run --folds all --jobs, ablate --jobs)', () => {
  it('repeat every flag that says where and how a fold or trial runs (item 10)', () => {
    const args = childCommand('run', 'exp.ts', { folds: 'all', trial: 'a-seed0-fold1', seed: 2, out: '/o', threads: 1, workers: 0, set: ['train.epochs=3', 'x=1'], force: true, allowChanges: ['train.epochs'], quick: false, backend: undefined });
    expect(args.slice(1)).toEqual([
      'run', resolve('exp.ts'), '--folds', 'all', '--trial', 'a-seed0-fold1', '--seed', '2', '--out', '/o', '--threads', '1', '--workers', '0',
      '--set', 'train.epochs=3', '--set', 'x=1', '--force', '--allow-changes', 'train.epochs',
    ]);
    const trial = trialCommand('abl.ts', { name: 'v-seed0-fold0', variant: 'v', seed: 0, fold: 0 }, { out: 'runs', threads: 2, seeds: 2, data: 'd' });
    expect(trial.slice(1)).toEqual(['ablate', resolve('abl.ts'), '--trial', 'v-seed0-fold0', '--seeds', '2', '--out', resolve('runs'), '--data', resolve('d'), '--threads', '2']);
  });
});

describe('folders a command did not make', () => {
  it('demo-data --force refuses a folder without demo-manifest.json and deletes nothing (item 2)', async () => {
    const kaggle = join(work, 'rsna');
    mkdirSync(join(kaggle, 'stage_2_train'), { recursive: true });
    mkdirSync(join(kaggle, 'stage_2_test'));
    writeFileSync(join(kaggle, 'stage_2_train', 'ID_1.dcm'), 'real');
    writeFileSync(join(kaggle, 'stage_2_train.csv'), 'ID,Label\n');
    writeFileSync(join(kaggle, 'stage_2_sample_submission.csv'), 'ID,Label\n');
    const before = listing(kaggle);
    await expect(runCli(registerDemoData, 'demo-data', kaggle, '--patients', '2', '--size', '16', '--force')).rejects.toThrow(
      /--force: .* holds no demo-manifest\.json, so it is not a demo dataset sliceseq wrote \(it holds .*stage_2_train/,
    );
    expect(listing(kaggle)).toEqual(before);
  });

  it('report refuses a folder that is not a run and writes nothing into it (item 4)', async () => {
    const dataset = join(work, 'dataset');
    mkdirSync(dataset);
    writeFileSync(join(dataset, 'manifest.csv'), 'patient,image\n');
    await expect(runCli(registerReport, 'report', dataset)).rejects.toThrow(/is not a run directory \(it has no config\.json\); nothing written/);
    expect(listing(dataset)).toEqual(['manifest.csv']);
  });

  it('quickstart never replaces a run that `sliceseq run` started without --force (item 1)', async () => {
    const out = join(work, 'quickstart-runs');
    const runDir = join(out, 'quickstart-seed0-fold0');
    mkdirSync(runDir, { recursive: true });
    writeRunConfig(runDir, { name: 'quickstart', seed: 0 } as never);
    writeEnvironment(runDir, { sliceseq: '0', node: 'v20', tfjs: '4', backend: 'cpu', seed: 0, data: { source: 'x', fingerprint: 'f', patients: 1 }, split: { train: [], val: [], test: [] } });
    writeFileSync(join(runDir, 'metrics.json'), '{"val":{"f2":{"samples":0.9}}}');
    const before = listing(runDir);
    const data = join(work, 'quickstart-data');
    mkdirSync(data);
    writeFileSync(join(data, 'stage_2_train.csv'), 'ID,Label\n');
    await expect(runCli(registerQuickstart, 'quickstart', '--out', out, '--data', data, '--quick')).rejects.toThrow(
      /holds a run that `sliceseq run` started; quickstart replaces only its own runs: pass --resume to continue it, --force to replace it, or another --out/,
    );
    expect(listing(runDir)).toEqual(before);
    expect(existsSync(join(runDir, 'report.html'))).toBe(false);
  });

  it('--force replaces a run\'s own files only, and refuses a folder holding anything else', () => {
    const runDir = join(work, 'forced');
    mkdirSync(join(runDir, 'checkpoints'), { recursive: true });
    writeFileSync(join(runDir, 'config.json'), '{}');
    writeFileSync(join(runDir, 'trial.json'), '{}');
    writeFileSync(join(runDir, 'classification-report.md'), '#');
    expect(planRunStart(runDir, { force: true })).toBe('restart');
    clearRun(runDir);
    expect(listing(runDir)).toEqual(['trial.json']);
    writeFileSync(join(runDir, 'config.json'), '{}');
    writeFileSync(join(runDir, 'notes.txt'), 'mine');
    expect(() => planRunStart(runDir, { force: true })).toThrow(/holds files no sliceseq run writes \(notes\.txt\); nothing there is deleted/);
    expect(() => planRunStart(join(work, 'nothing-here'), { resume: true })).toThrow(/holds no run to resume/);
    expect(planRunStart(join(work, 'nothing-here'), { resumeOrStart: true })).toBe('start');
  });

  it('quickstart writes its demo data only into an empty or new folder', async () => {
    const busy = join(work, 'busy-data');
    mkdirSync(busy);
    writeFileSync(join(busy, 'scan.dcm'), 'real');
    await expect(runCli(registerQuickstart, 'quickstart', '--out', join(work, 'q2'), '--data', busy)).rejects.toThrow(/holds files but no stage_2_train\.csv .*pass another --data/);
    expect(listing(busy)).toEqual(['scan.dcm']);
  });
});

describe('run --folds all (item 10)', () => {
  it('hands --workers, --threads and --force to every fold run, and a moved --data is the same plan', async () => {
    const { log } = await import('../../src/core/log.ts');
    const { tinyDemoData, tinyExperiment } = await import('../train/helpers.ts');
    const { cpSync } = await import('node:fs');
    const { readRunConfig, readEnvironment, readTrialAttempts } = await import('../../src/runs/index.ts');
    const { runCommand } = await import('../../src/cli/commands/run.ts');
    const quiet = [vi.spyOn(log, 'info').mockImplementation(() => {}), vi.spyOn(log, 'warn').mockImplementation(() => {}), vi.spyOn(process.stdout, 'write').mockImplementation(() => true)];
    const { root, data } = await tinyDemoData();
    try {
      const file = join(root, 'cv.mts');
      writeFileSync(file, `export default ${JSON.stringify({ ...tinyExperiment(data), name: 'cv', train: { epochs: 1, batchSize: 4 } })};\n`);
      const out = join(root, 'runs');
      const folds = ['cv-seed3-fold0', 'cv-seed3-fold1'].map((name) => join(out, 'cv-seed3-cv', name));
      await runCommand(file, { out, folds: 'all', set: ['split.folds=2'], workers: 0, threads: 1 });
      for (const fold of folds) {
        expect(readRunConfig(fold).data).toMatchObject({ workers: 0 });
        expect(readEnvironment(fold).threads).toBe(1);
      }
      // The data mounted elsewhere: the same plan, every fold already finished.
      const moved = join(root, 'moved');
      cpSync(data, moved, { recursive: true });
      await runCommand(file, { out, folds: 'all', set: ['split.folds=2'], data: moved, workers: 0, threads: 1 });
      expect(readTrialAttempts(folds[0])).toHaveLength(1);
      // --force restarts every fold run (a second attempt each), keeping trial.json.
      await runCommand(file, { out, folds: 'all', set: ['split.folds=2'], workers: 0, threads: 1, force: true });
      for (const fold of folds) expect(readTrialAttempts(fold).map((a) => a.status)).toEqual(['finished', 'finished']);
    } finally {
      for (const spy of quiet) spy.mockRestore();
      rmSync(root, { recursive: true, force: true });
    }
  }, 240_000);
});
