import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, extname, join, resolve } from 'node:path';
import type { BackendPreference } from '../backend/select.ts';
import { INTERRUPTED_EXIT, Interrupt } from '../core/interrupt.ts';
import { log } from '../core/log.ts';
import { projectRoot } from '../core/version.ts';
import { DATA_FINGERPRINT_FORMAT, fingerprintFormat } from '../data/fingerprint.ts';
import { mapLimit } from '../data/map-limit.ts';
import {
  checkPlan,
  formatShard,
  parseAblation,
  planAblation,
  shardTrials,
  trialExperiment,
  type Ablation,
  type AblationPlan,
  type AblationTrial,
  type PlanOptions,
  type Shard,
} from './ablation.ts';
import { readAblationPlan, writeAblationPlan } from '../runs/ablation-plan.ts';
import { ablationPath } from '../runs/layout.ts';
import { isRunFinished, isRunStarted } from '../runs/run-dir.ts';
import { readTrialAttempts, trialLogPath, writeTrialRecord, type TrialAttempt } from '../runs/trial-record.ts';
import { importDefault } from './load.ts';
import { runExperiment } from './run.ts';
import { currentDataFingerprint } from './run-data.ts';
import { resolveExperiment } from './resolve.ts';
import { readEnvironment } from '../runs/environment.ts';

/**
 * Runs an ablation's trials: in this process one after another, or `jobs` child processes at a time (each
 * `sliceseq ablate <file> --trial <name>`). A trial whose run directory holds metrics.json is finished and never
 * runs again; one with a directory but no metrics.json resumes from its last checkpoint. Each trial records
 * who ran it and when in `trial.json`, so a shared folder written by many machines says what happened where.
 */
/** Imports an ablation file (a TypeScript module whose default export is the ablation); named after the file. */
export async function loadAblationFile(path: string): Promise<Ablation & { name: string }> {
  const ablation = await importDefault(path, 'ablation', 'defineAblation({...})');
  return parseAblation(ablation, `ablation ${path}`, basename(path, extname(path)));
}

export interface AblateOptions extends PlanOptions {
  /** Parent folder; trials go to `<out>/<ablation name>/<trial>/`. */
  out: string;
  /** Overrides the dataset's `root` in every trial. */
  data?: string;
  backend?: BackendPreference;
  /** TensorFlow's intra-op threads and decode workers of every trial (this machine's, not the plan's). */
  threads?: number;
  workers?: number;
  /** Restart every trial of this shard, finished ones too (each trial deletes only its own run files). */
  force?: boolean;
  /** Config fields a resuming trial may change on purpose (besides the data folder, which shards may mount elsewhere). */
  allowChanges?: string[];
  /** Trials at once, each in its own process (1: in this process). */
  jobs?: number;
  shard?: Shard;
  /** The ablation file: child processes (`jobs > 1`) load it themselves. */
  file?: string;
  /** The command line of a child process running one trial (default: `sliceseq ablate <file> --trial <name>`). */
  childCommand?: (trial: AblationTrial) => string[];
}

export type TrialStatus = 'finished' | 'skipped' | 'failed' | 'interrupted' | 'not-started';

export interface TrialOutcome {
  trial: AblationTrial;
  status: TrialStatus;
  /** Continued from a run directory an earlier invocation left unfinished. */
  resumed: boolean;
  seconds: number;
  error?: string;
}

export interface AblationRun {
  plan: AblationPlan;
  dir: string;
  shard?: Shard;
  outcomes: TrialOutcome[];
  /** Whether every trial of the plan (all shards) has finished. */
  complete: boolean;
}

export function ablationDir(out: string, plan: AblationPlan): string {
  return resolve(out, plan.name);
}

export function isTrialFinished(dir: string, trial: AblationTrial): boolean {
  return isRunFinished(join(dir, trial.name));
}

/** Where a trial runs, whether it has finished, and whether a run began there before (it wrote its config). */
function trialState(plan: AblationPlan, trial: AblationTrial, out: string): { trialDir: string; finished: boolean; started: boolean } {
  const dir = ablationDir(out, plan);
  const trialDir = join(dir, trial.name);
  return { trialDir, finished: isTrialFinished(dir, trial), started: isRunStarted(trialDir) };
}

/** Where and how a machine runs a trial, not what it trains: left out when two plans are compared. */
const machineFields = [['data', 'dataset', 'root'], ['data', 'workers'], ['backend'], ['threads']];

/** The plan as shards compare it: each variant's experiment without the machine fields. */
function comparable(plan: AblationPlan): Record<string, unknown> {
  const variants = plan.variants.map((variant) => {
    const experiment = structuredClone(variant.experiment);
    for (const path of machineFields) {
      const parent = path.slice(0, -1).reduce<unknown>((node, key) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined), experiment);
      if (parent && typeof parent === 'object') delete (parent as Record<string, unknown>)[path.at(-1)!];
    }
    return { ...variant, experiment };
  });
  return { ...plan, variants };
}

/**
 * Saves the plan, or checks it against the one already there: every shard of a job array must run the same grid,
 * or their trials would not compare. The data folder, backend, threads and workers are left out (each machine
 * may mount the data elsewhere and run on its own hardware).
 */
export function savePlan(dir: string, plan: AblationPlan): void {
  if (!existsSync(ablationPath(dir, 'plan'))) return writeAblationPlan(dir, plan);
  const saved = comparable(readAblationPlan(dir));
  const now = comparable(plan);
  const differing = Object.keys({ ...saved, ...now }).filter((key) => JSON.stringify(saved[key]) !== JSON.stringify(now[key]));
  if (differing.length > 0) {
    throw new Error(
      `${ablationPath(dir, 'plan')} holds another plan for this ablation (differs in: ${differing.join(', ')}); ` +
        'run every shard with the same file and --seeds/--folds/--quick, or use another --out',
    );
  }
}

/**
 * Runs one trial in this process (a finished one is skipped), recording the attempt in trial.json. A run
 * stopped by Ctrl-C has saved a checkpoint and reports `interrupted`.
 */
export async function runTrial(plan: AblationPlan, trial: AblationTrial, options: TrialRunOptions): Promise<TrialOutcome> {
  const { trialDir, finished, started: begun } = trialState(plan, trial, options.out);
  if (finished && !options.force) return { trial, status: 'skipped', resumed: false, seconds: 0 };
  const resumed = begun && !options.force;
  mkdirSync(trialDir, { recursive: true });
  const attempts = readTrialAttempts(trialDir);
  const attempt: TrialAttempt = { pid: process.pid, host: hostname(), started: new Date().toISOString(), status: 'running', resumed };
  writeTrialRecord(trialDir, { ablation: plan.name, ...trial, attempts: [...attempts, attempt] });
  const started = performance.now();
  const finish = (status: 'finished' | 'failed' | 'interrupted', error?: string): TrialOutcome => {
    writeTrialRecord(trialDir, { ablation: plan.name, ...trial, attempts: [...attempts, { ...attempt, status, ended: new Date().toISOString(), ...(error ? { error } : {}) }] });
    return { trial, status, resumed, seconds: (performance.now() - started) / 1000, ...(error ? { error } : {}) };
  };
  try {
    // An unfinished directory continues from its last checkpoint; a fresh one starts at epoch 0; --force starts over.
    const result = await runExperiment(trialExperiment(plan, trial), {
      out: ablationDir(options.out, plan),
      runName: trial.name,
      data: options.data,
      backend: options.backend,
      threads: options.threads,
      sets: options.workers === undefined ? [] : [`data.workers=${options.workers}`],
      ...(options.force ? { force: true } : { resumeOrStart: true }),
      // Shards on other machines may mount the data elsewhere; its fingerprint is still checked.
      allowChanges: resumed ? ['data.dataset.root', ...(options.allowChanges ?? [])] : [],
      command: 'ablate',
    });
    return finish(result.state.stopped === 'interrupted' ? 'interrupted' : 'finished');
  } catch (error) {
    return finish('failed', (error as Error).message);
  }
}

/**
 * A finished trial is reused only while the data is what it trained on: each finished trial's recorded data
 * fingerprint (environment.json) is compared with the data's now, each distinct dataset loaded and fingerprinted
 * once. Refuses, naming the trials, before anything runs.
 */
export async function checkFinishedData(dir: string, plan: AblationPlan, options: Pick<AblateOptions, 'data'>): Promise<void> {
  const current = new Map<string, Promise<string>>();
  const stale: string[] = [];
  for (const trial of plan.trials.filter((t) => isTrialFinished(dir, t))) {
    const experiment = resolveExperiment(trialExperiment(plan, trial), { data: options.data });
    const key = JSON.stringify([experiment.data.dataset, experiment.split.test, experiment.data.indexDir]);
    if (!current.has(key)) current.set(key, currentDataFingerprint(experiment));
    let now: string;
    try {
      now = await current.get(key)!;
    } catch (error) {
      throw new Error(`${dir}: cannot check that the finished trials ran on today's data: ${(error as Error).message}`);
    }
    const recorded = readEnvironment(join(dir, trial.name)).data.fingerprint;
    const why = fingerprintFormat(recorded) === DATA_FINGERPRINT_FORMAT ? `fingerprint ${recorded}, the data now ${now}` : `its fingerprint ${recorded} is of an older format (file paths, not contents) and cannot be checked`;
    if (recorded !== now) stale.push(`${trial.name}${plan.folds > 1 ? ` (fold ${trial.fold})` : ''}: ${why}`);
  }
  if (stale.length === 0) return;
  throw new Error(
    `${dir}: the data changed since ${stale.length} finished trial(s) ran, so their results are not reused:\n  ${stale.join('\n  ')}\n` +
      'run into another --out, or delete those trial folders to run them again on the data as it is now',
  );
}

/** What runs one trial in this process: the plan's folder, and how this machine runs it. */
export type TrialRunOptions = Pick<AblateOptions, 'out' | 'data' | 'backend' | 'threads' | 'workers' | 'force' | 'allowChanges'>;

type FlagValue = string | number | boolean | readonly string[] | undefined;

/**
 * The command line of a child process (`sliceseq <command> <file> --flag value …`): every flag the parent was given
 * that the child needs, camelCase names written as --kebab-case, true as a bare flag, a list as the flag repeated;
 * absent and false flags are left out. Paths are made absolute (the child may run elsewhere).
 */
export function childCommand(command: string, file: string, flags: Record<string, FlagValue>): string[] {
  const args = [join(projectRoot, 'bin', 'sliceseq.js'), command, resolve(file)];
  for (const [key, value] of Object.entries(flags)) {
    if (value === undefined || value === false) continue;
    const flag = `--${key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;
    if (value === true) args.push(flag);
    else if (typeof value === 'object') for (const item of value) args.push(flag, item);
    else args.push(flag, String(value));
  }
  return args;
}

/** The flags every child repeats from its parent: where the plan's folder is and how this machine runs a trial. */
export function trialFlags(options: TrialRunOptions & { sets?: readonly string[]; quick?: boolean }): Record<string, FlagValue> {
  return {
    out: resolve(options.out),
    quick: options.quick,
    data: options.data === undefined ? undefined : resolve(options.data),
    backend: options.backend,
    threads: options.threads,
    workers: options.workers,
    set: options.sets,
    force: options.force,
    allowChanges: options.allowChanges,
  };
}

/** The command line that runs one trial of an ablation file in a child process: the same plan options, plus `--trial`. */
export function trialCommand(file: string, trial: AblationTrial, options: AblateOptions): string[] {
  return childCommand('ablate', file, { trial: trial.name, seeds: options.seeds, folds: options.folds, ...trialFlags(options) });
}


/** Runs one trial in a child process; its output goes to the trial's trial.log. */
async function runTrialProcess(file: string | undefined, plan: AblationPlan, trial: AblationTrial, options: AblateOptions): Promise<TrialOutcome> {
  const { trialDir, finished, started: begun } = trialState(plan, trial, options.out);
  if (finished && !options.force) return { trial, status: 'skipped', resumed: false, seconds: 0 };
  const resumed = begun && !options.force;
  mkdirSync(trialDir, { recursive: true });
  const logPath = trialLogPath(trialDir);
  const logFd = openSync(logPath, 'a');
  const started = performance.now();
  try {
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done, fail) => {
      const child = spawn(process.execPath, options.childCommand?.(trial) ?? trialCommand(file!, trial, options), { stdio: ['ignore', logFd, logFd] });
      child.on('error', fail);
      child.on('exit', (code, signal) => done({ code, signal }));
      log.info(`${trial.name}: started in process ${child.pid} (output: ${logPath})`);
    });
    const seconds = (performance.now() - started) / 1000;
    if (exit.code === 0) return { trial, status: 'finished', resumed, seconds };
    // Ctrl-C reaches the children too: during training they save a checkpoint first, before it they just stop.
    if (exit.code === INTERRUPTED_EXIT || exit.signal === 'SIGINT') return { trial, status: 'interrupted', resumed, seconds };
    const tail = readFileSync(logPath, 'utf8').trim().split('\n').slice(-5).join('\n');
    return { trial, status: 'failed', resumed, seconds, error: `child process exited with ${exit.signal ?? `status ${exit.code}`}; ${logPath} ends:\n${tail}` };
  } finally {
    closeSync(logFd);
  }
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function describeOutcome(outcome: TrialOutcome): string {
  const { trial, status, seconds } = outcome;
  const what = status === 'finished' && outcome.resumed ? 'finished (resumed)' : status;
  return `${trial.name}: ${what}${status === 'finished' ? ` in ${seconds.toFixed(1)} s` : ''}${outcome.error ? `\n  ${outcome.error.replace(/\n/g, '\n  ')}` : ''}`;
}

/**
 * Plans the ablation, saves (or checks) the plan in `<out>/<name>/ablation.json`, and runs this machine's share
 * of the trials. Trials that fail are reported and the others still run; Ctrl-C stops starting new ones.
 */
export async function runAblation(ablation: Ablation & { name: string }, options: AblateOptions): Promise<AblationRun> {
  const jobs = options.jobs ?? 1;
  if (!(Number.isInteger(jobs) && jobs >= 1)) throw new Error(`--jobs must be a positive integer, got ${jobs}`);
  if (jobs > 1 && !options.file && !options.childCommand) throw new Error('--jobs > 1 runs trials in child processes, which need the ablation file');
  const plan = planAblation(ablation, options);
  checkPlan(plan, { data: options.data });
  const dir = ablationDir(options.out, plan);
  mkdirSync(dir, { recursive: true });
  savePlan(dir, plan);

  await checkFinishedData(dir, plan, options);
  const mine = shardTrials(plan.trials, options.shard);
  const waiting = mine.filter((trial) => options.force || !isTrialFinished(dir, trial));
  const shardText = options.shard ? ` (shard ${formatShard(options.shard)})` : '';
  log.info(
    `ablation ${plan.name}: ${plan.trials.length} trials (${plural(plan.variants.length, 'variant')} × ${plural(plan.seeds.length, 'seed')} × ${plural(plan.folds, 'fold')})${shardText}; ` +
      `${mine.length - waiting.length} of ${mine.length} already finished; running ${waiting.length}${jobs > 1 ? `, ${jobs} at a time` : ''} in ${dir}`,
  );

  const interrupt = new Interrupt({ first: 'Ctrl-C: no new trials start; running ones save a checkpoint (Ctrl-C again to quit at once)' });
  let stopping = false;
  // In this process a trial's own handler saves its checkpoint; children get the terminal's Ctrl-C themselves.
  const stopListening = jobs > 1 ? interrupt.listen() : () => {};
  let done = 0;
  try {
    const outcomes = await mapLimit(mine, jobs, async (trial) => {
      if (stopping || interrupt.requested) return { trial, status: 'not-started', resumed: false, seconds: 0 } satisfies TrialOutcome;
      const outcome = jobs > 1 ? await runTrialProcess(options.file, plan, trial, options) : await runTrial(plan, trial, options);
      if (outcome.status === 'interrupted') stopping = true;
      if (outcome.status !== 'skipped') log.info(`[${++done}/${waiting.length}] ${describeOutcome(outcome)}`);
      return outcome;
    });
    return { plan, dir, shard: options.shard, outcomes, complete: plan.trials.every((trial) => isTrialFinished(dir, trial)) };
  } finally {
    stopListening();
  }
}
