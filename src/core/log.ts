/** Plain leveled logging to stderr (stdout stays clean for results such as `sliceseq score`'s JSON). */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

function levelFromEnv(): LogLevel {
  const value = process.env.SLICESEQ_LOG as LogLevel | undefined;
  return value && value in order ? value : 'info';
}

let current: LogLevel = levelFromEnv();

export function setLogLevel(level: LogLevel): void {
  current = level;
}

/** The level in force: SLICESEQ_LOG's at start, or the last setLogLevel. */
export function logLevel(): LogLevel {
  return current;
}

/** Time stamps on log lines: on when stderr is not a terminal (a file, CI), unless set here. */
let timestamps: boolean | undefined;

export function setLogTimestamps(on: boolean | undefined): void {
  timestamps = on;
}

/** `2026-12-05T08:10:00Z line`: UTC to the second, so a log file says when each epoch ended. */
export function stampLine(line: string, date: Date = new Date()): string {
  return `${date.toISOString().slice(0, 19)}Z ${line}`;
}

function emit(level: LogLevel, message: string): void {
  if (order[level] < order[current]) return;
  const prefix = level === 'info' ? '' : `${level}: `;
  const line = `${prefix}${message}`;
  process.stderr.write(`${(timestamps ?? !process.stderr.isTTY) ? stampLine(line) : line}\n`);
}

export const log = {
  debug: (message: string) => emit('debug', message),
  info: (message: string) => emit('info', message),
  warn: (message: string) => emit('warn', message),
  error: (message: string) => emit('error', message),
};
