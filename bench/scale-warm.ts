/**
 * The warm start at one size: `sliceseq run experiments/quickstart.ts` (one decode worker) on an RSNA-layout folder
 * written by bench/scale-data.ts, from the command to its first training batch, with the header-scan index and
 * the data fingerprint's record present in `indexDir`, under /usr/bin/time for the main process's peak RSS (the
 * decode worker is a thread of it). When `indexDir` holds no index yet, one untimed run builds both first.
 * Prints each step's log line with its second, then JSON: seconds, peak RSS, the load average before and after.
 *
 *   npx tsx bench/scale-warm.ts <root> <indexDir> [--runs N]
 *   npx tsx bench/scale-data.ts <root> <trainFiles>      (writes such a folder)
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { projectRoot } from '../src/core/version.ts';
import { timedCommand } from './scale-timed.ts';

const [root, indexDir] = process.argv.slice(2).map((arg) => resolve(arg));
const runsAt = process.argv.indexOf('--runs');
const runs = runsAt > 0 ? Number(process.argv[runsAt + 1]) : 1;
if (!root || !indexDir || !existsSync(join(root, 'stage_2_train.csv'))) {
  throw new Error('usage: npx tsx bench/scale-warm.ts <root holding stage_2_train.csv and stage_2_train/> <indexDir> [--runs N]');
}
mkdirSync(indexDir, { recursive: true });
const work = mkdtempSync(join(tmpdir(), 'sliceseq-warm-'));
const say = (line: string) => process.stderr.write(`${line}\n`);
const firstBatch = (echo: boolean) =>
  timedCommand(work, process.execPath, [join(projectRoot, 'bin', 'sliceseq.js'), 'run', 'experiments/quickstart.ts', '--data', root, '--out', join(work, 'runs'), '--workers', '1', '--force'], {
    env: { SLICESEQ_CACHE: indexDir, SLICESEQ_LOG: 'debug' },
    until: /first training batch ready/,
    onLine: echo ? (line, seconds) => /^\d{4}-\d\d-\d\dT/.test(line) && say(`${seconds.toFixed(2).padStart(7)} s  ${line.slice(21, 180)}`) : undefined,
  });
try {
  if (!readdirSync(indexDir).some((name) => name.startsWith('scan-'))) {
    say(`no index in ${indexDir}: one untimed run builds it (the header scan and the fingerprint read every file once)`);
    await firstBatch(false);
  }
  for (let run = 0; run < runs; run++) {
    const before = loadavg()[0];
    const measured = await firstBatch(true);
    process.stdout.write(`${JSON.stringify({ seconds: Number(measured.seconds.toFixed(2)), peakRssMb: Math.round(measured.peakRssMb), loadBefore: before, loadAfter: loadavg()[0] })}\n`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
