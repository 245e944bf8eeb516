/**
 * The two timed workloads, each in its own process (libtensorflow fixes its threads and its build when it loads):
 * the reference training step (bench/train-step.ts) and `sliceseq run` of the quickstart. `npm run bench` and the
 * GPU check (bench/gpu-check.ts) both time them through here.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../src/core/version.ts';
import { readHistory, type HistoryRecord } from '../src/runs/history.ts';
import { runDirName } from '../src/runs/layout.ts';
import type { StepTiming } from './train-step.ts';

export type Workload = 'reference' | 'short-series' | 'class-query';

/** `env`: extra environment for the child (the GPU check hides the GPU with CUDA_VISIBLE_DEVICES=-1 for its CPU figures). */
export function timeTrainingStep(options: {
  backend: string;
  threads: number;
  stacking: string;
  steps: string;
  warmup: string;
  /** The reference step (default), the short-series case or the class-query decoder variant. */
  workload?: Workload;
  /** Native backend only: the fused kernels (default) or the per-op path (SLICESEQ_FUSED=0). */
  fused?: boolean;
  profile?: boolean;
  env?: NodeJS.ProcessEnv;
}): StepTiming {
  const { backend, threads, stacking, steps, warmup, workload = 'reference', fused = true } = options;
  const args = ['--import', 'tsx', join(projectRoot, 'bench', 'train-step.ts'), '--backend', backend, '--threads', String(threads), '--stacking', stacking, '--steps', steps, '--warmup', warmup];
  args.push('--workload', workload, '--fused', fused ? '1' : '0');
  if (options.profile) args.push('--profile');
  const what = `${backend}${backend === 'tensorflow' ? (fused ? ' fused' : ' unfused') : ''}, ${workload}`;
  process.stderr.write(`timing ${what} (${threads} thread${threads === 1 ? '' : 's'}, ${stacking}): ${warmup} warm-up + ${steps} steps\n`);
  const output = execFileSync(process.execPath, args, { encoding: 'utf8', cwd: projectRoot, stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, ...options.env } });
  return JSON.parse(output.trim().split('\n').pop()!) as StepTiming;
}

/** `sliceseq run experiments/quickstart.ts` for `epochs` epochs on `backend`, in a child process; its last epoch's record. */
export function endToEndQuickstart(backend: string, data: string, out: string, epochs = 2, env: NodeJS.ProcessEnv = {}): HistoryRecord {
  process.stderr.write(`end to end: sliceseq run experiments/quickstart.ts on ${backend}, ${epochs} epochs\n`);
  const args = ['bin/sliceseq.js', 'run', 'experiments/quickstart.ts', '--data', data, '--out', join(out, backend), '--backend', backend, '--set', `train.epochs=${epochs}`, '--force'];
  execFileSync(process.execPath, args, { cwd: projectRoot, stdio: ['ignore', 'ignore', 'ignore'], env: { ...process.env, ...env } });
  return readHistory(join(out, backend, runDirName('quickstart', 0, 0))).at(-1)!;
}
