import { stampLine } from './log.ts';

/**
 * Progress for long work: a redrawn bar (step, rate, ETA) on a terminal, and a plain time-stamped line every
 * `intervalSeconds` when output goes to a file or CI log, so logs stay readable.
 */
export interface ProgressOptions {
  label: string;
  total: number;
  unit?: string;
  stream?: NodeJS.WriteStream;
  intervalSeconds?: number;
  now?: () => number;
  /** Wall clock for the time stamp of plain lines (default: the current time). */
  clock?: () => Date;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(rest).padStart(2, '0')}s` : `${rest}s`;
}

export class Progress {
  private done = 0;
  private readonly start: number;
  private lastPlain: number;
  private readonly stream: NodeJS.WriteStream;
  private readonly isTerminal: boolean;
  private readonly now: () => number;

  constructor(private readonly options: ProgressOptions) {
    this.now = options.now ?? (() => performance.now() / 1000);
    this.start = this.now();
    this.lastPlain = this.start;
    this.stream = options.stream ?? process.stderr;
    this.isTerminal = Boolean(this.stream.isTTY) && process.env.CI !== 'true';
  }

  /** The status line as text: `label 12/40 [####----] 3.1 step/s ETA 9s extra`. */
  line(extra = ''): string {
    const { label, total, unit = 'step' } = this.options;
    const elapsed = Math.max(this.now() - this.start, 1e-9);
    const rate = this.done / elapsed;
    const eta = rate > 0 ? (total - this.done) / rate : Infinity;
    const width = 20;
    const filled = total > 0 ? Math.min(width, Math.round((this.done / total) * width)) : 0;
    const bar = this.isTerminal ? ` [${'#'.repeat(filled)}${'-'.repeat(width - filled)}]` : '';
    const tail = extra ? ` ${extra}` : '';
    return `${label} ${this.done}/${total}${bar} ${rate.toFixed(2)} ${unit}/s ETA ${formatDuration(eta)}${tail}`;
  }

  tick(count = 1, extra = ''): void {
    this.done += count;
    const t = this.now();
    if (this.isTerminal) {
      this.stream.write(`\r\x1b[K${this.line(extra)}`);
    } else if (t - this.lastPlain >= (this.options.intervalSeconds ?? 10) || this.done >= this.options.total) {
      this.lastPlain = t;
      this.stream.write(`${stampLine(this.line(extra), this.options.clock?.())}\n`);
    }
  }

  finish(extra = ''): void {
    if (this.isTerminal) this.stream.write(`\r\x1b[K${this.line(extra)}\n`);
  }
}
