import { log } from './log.ts';

/** Exit status of a command stopped by Ctrl-C (128 + SIGINT), after it saved what it had. */
export const INTERRUPTED_EXIT = 130;

/**
 * Ctrl-C while a command works, the one handler every command uses. The first Ctrl-C sets `requested`: the work
 * stops at its next safe point (a training batch, a trial) and saves. A second sets `urgent`: where something
 * must still be saved (`saving` is on) it is saved first, then the command exits 130; elsewhere it exits 130 at
 * once. A third always exits at once.
 */
export class Interrupt {
  requested = false;
  urgent = false;
  /** On while the work holds results that a Ctrl-C must not lose (training: the last finished epoch or batch). */
  saving = false;
  private presses = 0;
  private readonly listener = () => this.press();
  private readonly aborter = new AbortController();

  /** Aborts at the first Ctrl-C: for work that waits (a sleep, a poll) rather than checking `requested`. */
  get signal(): AbortSignal {
    return this.aborter.signal;
  }

  constructor(private readonly messages: { first: string; second?: string }) {}

  /** Starts listening for SIGINT; returns the function that stops. */
  listen(): () => void {
    process.on('SIGINT', this.listener);
    return () => process.off('SIGINT', this.listener);
  }

  /** What a SIGINT does (also what a test calls). */
  press(): void {
    this.presses += 1;
    if (this.presses === 1) {
      this.requested = true;
      log.warn(this.messages.first);
      this.aborter.abort();
      return;
    }
    this.urgent = true;
    if (!this.saving || this.presses > 2) process.exit(INTERRUPTED_EXIT);
    log.warn(this.messages.second ?? `Ctrl-C again: exiting with status ${INTERRUPTED_EXIT} as soon as the last finished step is saved (a third Ctrl-C quits at once)`);
  }
}

/**
 * Lets a pending signal run its handler: a loop whose next item is already resolved (a prefetched batch) only
 * ever runs microtasks, and a SIGINT would wait for the loop's end. One macrotask turn per item is enough.
 */
export function yieldToSignals(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Thrown by work that a second Ctrl-C cut short (e.g. a validation pass); the trainer saves what it had. */
export class InterruptedError extends Error {
  constructor(what: string) {
    super(`${what} interrupted (Ctrl-C)`);
    this.name = 'InterruptedError';
  }
}
