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

function emit(level: LogLevel, message: string): void {
  if (order[level] < order[current]) return;
  const prefix = level === 'info' ? '' : `${level}: `;
  process.stderr.write(`${prefix}${message}\n`);
}

export const log = {
  debug: (message: string) => emit('debug', message),
  info: (message: string) => emit('info', message),
  warn: (message: string) => emit('warn', message),
  error: (message: string) => emit('error', message),
};
