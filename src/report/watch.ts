import { existsSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { log } from '../core/log.ts';
import { runPath } from '../runs/layout.ts';
import { readHistory } from '../runs/history.ts';
import { isRunFinished, isRunStarted } from '../runs/run-dir.ts';
import { writeRunReport, type RunReportOptions, type RunReportResult } from './run-report.ts';

/**
 * `sliceseq report RUN --watch`: the report of a run in progress, rewritten each time the run finishes an epoch
 * (history.jsonl changes) and once more when it finishes (metrics.json appears), so a browser refresh follows a
 * long run. It polls the files (an atomic rename is not seen reliably by file watchers on every file system).
 */
export interface WatchOptions extends RunReportOptions {
  /** How often to look at the files (default 2 s). */
  intervalMs?: number;
  /** Stops watching (Ctrl-C). */
  signal?: AbortSignal;
  /** Called after each report written, with the epochs it shows. */
  onReport?: (result: RunReportResult, epochs: number) => void;
}

/** What a rewrite depends on: history.jsonl, steps.jsonl and metrics.json, by size and time. */
function stamp(runDir: string): string {
  return (['history', 'steps', 'metrics'] as const)
    .map((key) => {
      const file = runPath(runDir, key);
      if (!existsSync(file)) return '-';
      const { size, mtimeMs } = statSync(file);
      return `${size}@${mtimeMs}`;
    })
    .join('|');
}

/** Rewrites the report after every epoch until the run finishes or `signal` aborts; returns the last report (if any). */
export async function watchRunReport(runDir: string, options: WatchOptions = {}): Promise<RunReportResult | undefined> {
  const { intervalMs = 2000, signal, onReport, ...reportOptions } = options;
  let seen = '';
  let last: RunReportResult | undefined;
  let waiting = false;
  while (!signal?.aborted) {
    const now = stamp(runDir);
    if (!isRunStarted(runDir)) {
      if (!waiting) log.info(`watching ${runDir}: waiting for the run to start`);
      waiting = true;
    } else if (now !== seen && existsSync(runPath(runDir, 'history'))) {
      seen = now;
      const finished = isRunFinished(runDir);
      try {
        last = await writeRunReport(runDir, reportOptions);
        const epochs = readHistory(runDir).length;
        log.info(`${last.html}: ${finished ? 'final report' : `${epochs} epoch${epochs === 1 ? '' : 's'}`}`);
        onReport?.(last, epochs);
        if (finished) return last;
      } catch (error) {
        // Tried again when the run's files next change (its next epoch).
        log.warn(`report not rewritten: ${(error as Error).message}`);
      }
    }
    try {
      await sleep(intervalMs, undefined, { signal });
    } catch {
      break; // aborted
    }
  }
  return last;
}
