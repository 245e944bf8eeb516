/**
 * One command under /usr/bin/time, for the scale benchmarks (bench/scale.ts, bench/scale-warm.ts): its wall
 * seconds and peak RSS. `until` ends it (SIGKILL) when a stderr line matches, and the time is taken there.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../src/core/version.ts';

export interface Measured {
  seconds: number;
  peakRssMb: number;
}

export interface TimedOptions {
  env?: Record<string, string>;
  until?: RegExp;
  /** Each stderr line as it comes, with the seconds since the start. */
  onLine?: (line: string, seconds: number) => void;
}

/** Runs `command` in the project root under /usr/bin/time, its report written in `work`. */
export function timedCommand(work: string, command: string, args: string[], options: TimedOptions = {}): Promise<Measured & { stdout: string }> {
  const report = join(work, `time-${process.pid}.txt`);
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const proc = spawn('/usr/bin/time', ['-o', report, '-f', '%M', command, ...args], { cwd: projectRoot, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let pending = '';
    let seconds: number | undefined;
    proc.stdout.on('data', (chunk) => (stdout += chunk));
    proc.stderr.on('data', (chunk) => {
      stderr += chunk;
      if (options.onLine) {
        const lines = (pending + chunk).split('\n');
        pending = lines.pop()!;
        for (const line of lines) options.onLine(line, (performance.now() - start) / 1000);
      }
      if (options.until && seconds === undefined && options.until.test(stderr)) {
        seconds = (performance.now() - start) / 1000;
        // /usr/bin/time's child: the signal goes to the node process, /usr/bin/time then reports its peak RSS.
        execFileSync('pkill', ['-KILL', '-P', String(proc.pid)]);
      }
    });
    proc.on('error', reject);
    proc.on('exit', (code) => {
      const elapsed = seconds ?? (performance.now() - start) / 1000;
      if (!options.until && code !== 0) return reject(new Error(`${command} ${args.join(' ')} exited ${code}:\n${stderr.slice(-2000)}`));
      if (options.until && seconds === undefined) return reject(new Error(`${command} ${args.join(' ')} ended before ${options.until}:\n${stderr.slice(-2000)}`));
      const kb = Number(readFileSync(report, 'utf8').trim().split('\n').pop());
      resolve({ seconds: elapsed, peakRssMb: kb / 1024, stdout });
    });
  });
}
