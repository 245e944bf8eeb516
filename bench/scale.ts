/**
 * `npm run bench -- --scale` (or `npx tsx bench/scale.ts`): sliceseq at the size of the RSNA Intracranial
 * Hemorrhage competition. At each size (training files; default 7,528, 75,280 and the full 752,803, or
 * SLICESEQ_SCALE_SIZES=7528,37640) bench/scale-data.ts writes an RSNA-layout dataset of ~35-slice studies (small
 * images: pixel work is measured by `npm run bench`), then times, each in its own process with its peak RSS
 * (/usr/bin/time; worker threads share the process):
 *   start-up       `sliceseq --help`: what every command pays before its work (growth ratios are also given net of it)
 *   scan cold      header scan of stage_2_train without an index (files/s)
 *   scan warm      the same with the index present
 *   inspect        `sliceseq inspect <root> --dataset rsna-ich` (index present)
 *   first batch    `sliceseq run experiments/quickstart.ts --data <root>` until the first training batch (index present)
 *   predict        `sliceseq predict` over the test studies, writing the submission (a run trained once at the smallest size)
 *   score          `sliceseq score` of that submission against the solution
 * beside the Python route: pydicom with stop_before_pixels over 1 and 2 processes, and pandas for the labels CSV.
 * Without any DICOM, the full-size submission (727,392 rows) is written and scored, and the full-size labels CSV
 * (752,803 images × 6 rows) read, at every run.
 * Also: bytes per cached slice at 224 × 224 × 3 for the rsna-ich example's preprocessing and with CLAHE, and the
 * projected cache for the competition's 752,803 slices.
 *
 * The summary prints per step `growth ratio <step>: <r>` (per-file cost at the largest size over the smallest;
 * linear is 1) and the peak RSS. `--json FILE` also writes every figure. SLICESEQ_SCALE_IMAGE sets the image
 * side (default 32). Work goes to SLICESEQ_SCALE_DIR (default a temporary folder, removed at the end).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../src/core/version.ts';
import { readCsv } from '../src/data/datasets/csv.ts';
import { encodeCacheEntry, type CachePrecision } from '../src/data/cache.ts';
import { buildPreprocess } from '../src/data/preprocess.ts';
import type { Slice } from '../src/data/types.ts';
import { writeSubmission } from '../src/metrics/submission/write.ts';
import { COMPETITION, LABELS, writeLabelsCsv, writeScaleDataset, writeSubmissionCsvs } from './scale-data.ts';
import { timedCommand, type Measured, type TimedOptions } from './scale-timed.ts';

function option(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}
const python = process.env.SLICESEQ_PYTHON ?? '/usr/bin/python3';
const sizes = (process.env.SLICESEQ_SCALE_SIZES ?? `7528,75280,${COMPETITION.trainFiles}`).split(',').map(Number);
// 350 files are 10 studies: the fewest the quickstart's split (a test share and 5 folds) takes.
if (sizes.some((n) => !Number.isInteger(n) || n < 350)) throw new Error(`SLICESEQ_SCALE_SIZES must be file counts of at least 350 (10 studies), got '${process.env.SLICESEQ_SCALE_SIZES}'`);
sizes.sort((a, b) => a - b);
const imageSide = Number(process.env.SLICESEQ_SCALE_IMAGE ?? 32);
const keep = process.env.SLICESEQ_SCALE_DIR !== undefined;
const work = process.env.SLICESEQ_SCALE_DIR ?? mkdtempSync(join(tmpdir(), 'sliceseq-scale-'));
mkdirSync(work, { recursive: true });
const cli = join(projectRoot, 'bin', 'sliceseq.js');
const say = (line: string) => process.stderr.write(`${line}\n`);

/** A command under /usr/bin/time (wall seconds, peak RSS): scale-timed.ts, its report file in `work`. */
const timed = (command: string, args: string[], options: TimedOptions = {}) => timedCommand(work, command, args, options);

const node = (script: string, ...args: string[]) => [process.execPath, ['--import', 'tsx', script, ...args]] as const;

/** The header scan alone, in a child process (bench/scale-scan.ts prints its JSON). */
async function scan(root: string, indexDir: string): Promise<Measured & { files: number; read: number }> {
  const [command, args] = node(join(projectRoot, 'bench', 'scale-scan.ts'), join(root, 'stage_2_train'), indexDir);
  const result = await timed(command, [...args]);
  const parsed = JSON.parse(result.stdout.trim().split('\n').pop()!) as { seconds: number; files: number; read: number };
  return { ...parsed, peakRssMb: result.peakRssMb };
}

function pythonPeer(root: string, args: string[]): Record<string, Record<string, number>> | null {
  try {
    execFileSync(python, ['-c', 'import pydicom, pandas'], { stdio: 'ignore' });
  } catch {
    return null;
  }
  return JSON.parse(execFileSync(python, [join(projectRoot, 'bench', 'scale_peer.py'), '--dir', root, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 }));
}

interface SizeResult {
  files: number;
  testFiles: number;
  studies: number;
  writeSeconds: number;
  steps: Record<string, Measured & { files: number }>;
  peers: Record<string, Measured & { files: number }>;
}

/** A quickstart run trained once (1 epoch, quick settings) on the smallest dataset, for predict at every size. */
async function trainedRun(root: string): Promise<string> {
  const out = join(work, 'runs');
  say('training the run predict uses (quickstart, --quick, 1 epoch, smallest size)');
  await timed(process.execPath, [cli, 'run', 'experiments/quickstart.ts', '--data', root, '--out', out, '--quick', '--set', 'train.epochs=1', '--workers', '1', '--force'], { env: { SLICESEQ_CACHE: join(work, `index-${sizes[0]}`) } });
  const name = readdirSync(out).find((entry) => entry.startsWith('quickstart'))!;
  return join(out, name);
}

async function measureSize(files: number, run: () => Promise<string>): Promise<SizeResult> {
  const root = join(work, `data-${files}`);
  const indexDir = join(work, `index-${files}`);
  rmSync(root, { recursive: true, force: true });
  rmSync(indexDir, { recursive: true, force: true });
  say(`size ${files}: writing the dataset (${imageSide} × ${imageSide})`);
  const data = writeScaleDataset(root, files, imageSide, (n) => say(`  ${n} files written`));
  const steps: SizeResult['steps'] = {};
  const peers: SizeResult['peers'] = {};
  say(`size ${files}: header scan, cold then warm`);
  steps['scan cold'] = await scan(root, indexDir);
  steps['scan warm'] = await scan(root, indexDir);
  const env = { SLICESEQ_CACHE: indexDir };
  // What every command below pays before it reads anything (tsx, the CLI, TensorFlow): at small sizes it is most of their time.
  steps['start-up'] = { ...(await timed(process.execPath, [cli, '--help'])), files };
  say(`size ${files}: inspect --dataset`);
  steps.inspect = { ...(await timed(process.execPath, [cli, 'inspect', root, '--dataset', 'rsna-ich', '--json'], { env })), files };
  say(`size ${files}: sliceseq run until the first training batch`);
  const runOut = join(work, `first-batch-${files}`);
  const firstBatch = await timed(process.execPath, [cli, 'run', 'experiments/quickstart.ts', '--data', root, '--out', runOut, '--workers', '1', '--force'], { env: { ...env, SLICESEQ_LOG: 'debug' }, until: /first training batch ready/ });
  steps['first batch'] = { ...firstBatch, files };
  rmSync(runOut, { recursive: true, force: true });
  const runDir = await run();
  say(`size ${files}: predict over ${data.testFiles} test files, writing the submission`);
  const submission = join(root, 'submission.csv');
  steps.predict = {
    ...(await timed(process.execPath, [cli, 'predict', runDir, '--data', root, '--split', 'test', '--out', join(root, 'predictions.csv'), '--submission', submission, '--format', 'rsna', '--sample-submission', join(root, 'stage_2_sample_submission.csv')], { env })),
    files: data.testFiles,
  };
  say(`size ${files}: score`);
  steps.score = { ...(await timed(process.execPath, [cli, 'score', submission, '--solution', join(root, 'solution.csv')])), files: data.testFiles };
  say(`size ${files}: pydicom (1 and 2 processes) and pandas`);
  const one = pythonPeer(root, ['--processes', '1']);
  const two = pythonPeer(root, ['--processes', '2', '--skip-csv']);
  if (one && two) {
    peers['pydicom scan, 1 process'] = { seconds: one.scan.seconds, peakRssMb: one.scan.peakRssMb, files };
    peers['pydicom scan, 2 processes'] = { seconds: two.scan.seconds, peakRssMb: two.scan.peakRssMb, files };
    peers['pandas labels CSV'] = { seconds: one.csv.seconds, peakRssMb: one.csv.peakRssMb, files };
  }
  if (!keep) rmSync(root, { recursive: true, force: true });
  return { files, testFiles: data.testFiles, studies: data.trainStudies, writeSeconds: data.seconds, steps, peers };
}

/** The full-size submission: written from predictions with the sample's order (in process), then `sliceseq score`. */
async function fullSubmission(): Promise<{ write: Measured; score: Measured; rows: number }> {
  const dir = join(work, 'full-submission');
  const { sample, solution, ids } = writeSubmissionCsvs(dir, COMPETITION.testFiles);
  const values = Float32Array.from({ length: ids.length * LABELS.length }, (_, i) => ((i * 7919) % 1000) / 1000);
  const file = join(dir, 'submission.csv');
  say(`full size: writing the ${COMPETITION.submissionRows}-row submission`);
  const rssBefore = process.memoryUsage().rss;
  const start = performance.now();
  writeSubmission(file, { ids, classes: [...LABELS], values }, 'rsna', { sample: await readCsv(sample) });
  const write = { seconds: (performance.now() - start) / 1000, peakRssMb: Math.max(rssBefore, process.memoryUsage().rss) / 2 ** 20 };
  say('full size: sliceseq score');
  const score = await timed(process.execPath, [cli, 'score', file, '--solution', solution]);
  const rows = readFileSync(file, 'utf8').split('\n').length - 2;
  return { write, score, rows };
}

/** The full-size labels CSV (752,803 images × 6 rows), read by sliceseq (own process) and by pandas. */
async function fullLabels(): Promise<{ rows: number; ours: Measured; pandas: Measured | null }> {
  const dir = join(work, 'full-labels');
  mkdirSync(dir, { recursive: true });
  say(`full size: the labels CSV (${(COMPETITION.trainFiles * 6).toLocaleString('en')} rows), sliceseq then pandas`);
  writeLabelsCsv(join(dir, 'stage_2_train.csv'), COMPETITION.trainFiles);
  const ours = await timed(process.execPath, ['--import', 'tsx', join(projectRoot, 'bench', 'scale-labels.ts'), join(dir, 'stage_2_train.csv')]);
  const peer = pythonPeer(dir, ['--skip-scan']);
  return {
    rows: COMPETITION.trainFiles * 6,
    ours: { seconds: (JSON.parse(ours.stdout.trim()) as { seconds: number }).seconds, peakRssMb: ours.peakRssMb },
    pandas: peer ? { seconds: peer.csv.seconds, peakRssMb: peer.csv.peakRssMb } : null,
  };
}

/** Bytes per cached slice at 224 × 224 × 3 for a preprocessing, lossless and float16. */
async function cacheBytes(): Promise<Array<{ pipeline: string; precision: CachePrecision; bytes: number }>> {
  const source: Slice = { rows: 512, cols: 512, channels: 1, data: new Float32Array(512 * 512), meta: { source: 'ct.dcm', format: 'dicom' } };
  for (let y = 0; y < 512; y++) {
    for (let x = 0; x < 512; x++) {
      const r = Math.hypot(x - 256, y - 256) / 230;
      source.data[y * 512 + x] = r > 1 ? -1000 : r > 0.9 ? 1200 : 25 + ((x * 7 + y * 13) % 30);
    }
  }
  const window = { name: 'window', windows: ['brain', 'subdural', 'bone'] };
  const pipelines = {
    'rsna-ich example: window → resize 224': [window, { name: 'resize', size: 224 }],
    'window → resize 224 → CLAHE': [window, { name: 'resize', size: 224 }, { name: 'clahe', clipLimit: 2, tileGridSize: [8, 8] }],
  };
  const rows = [];
  for (const [name, config] of Object.entries(pipelines)) {
    const [slice] = await buildPreprocess(config).prepare([source]);
    for (const precision of ['lossless', 'float16'] as const) {
      // One slice per entry, header and all, as a patient's entry holds it (the JSON header is shared by ~35 slices in practice).
      rows.push({ pipeline: name, precision, bytes: encodeCacheEntry([slice], precision).byteLength });
    }
  }
  return rows;
}

const results: SizeResult[] = [];
let runDir: string | undefined;
try {
  for (const files of sizes) {
    const result = await measureSize(files, async () => {
      if (!runDir) runDir = await trainedRun(join(work, `data-${sizes[0]}`));
      return runDir;
    });
    say(`size ${files} done: ${JSON.stringify(result)}`); // the figures so far, should a later size not finish
    results.push(result);
  }
  const full = await fullSubmission();
  const labels = await fullLabels();
  const cache = await cacheBytes();

  const fmt = (x: number, digits = 1) => x.toFixed(digits);
  const lines = [
    `Scale benchmark, ${new Date().toISOString().slice(0, 16)}Z, ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, ${fmt(totalmem() / 2 ** 30, 0)} GiB, load average ${loadavg().map((l) => fmt(l)).join(' ')} at the end; images ${imageSide} × ${imageSide}`,
    '',
    `| step | ${results.map((r) => `${r.files.toLocaleString('en')} files`).join(' | ')} |`,
    `|---|${results.map(() => '---|').join('')}`,
  ];
  const stepNames = Object.keys(results[0].steps);
  const peerNames = Object.keys(results[0].peers);
  const cell = (m: Measured & { files: number }) => `${fmt(m.seconds, 2)} s (${fmt(m.files / m.seconds, 0)} files/s), ${fmt(m.peakRssMb, 0)} MB`;
  for (const name of stepNames) lines.push(`| ${name} | ${results.map((r) => cell(r.steps[name])).join(' | ')} |`);
  for (const name of peerNames) lines.push(`| ${name} | ${results.map((r) => cell(r.peers[name])).join(' | ')} |`);
  lines.push(`| studies / test files | ${results.map((r) => `${r.studies} / ${r.testFiles}`).join(' | ')} |`);
  lines.push('', `Full size without DICOM: writing the ${full.rows.toLocaleString('en')}-row submission ${fmt(full.write.seconds, 2)} s (in process, RSS ${fmt(full.write.peakRssMb, 0)} MB); \`sliceseq score\` on it ${fmt(full.score.seconds, 2)} s, peak RSS ${fmt(full.score.peakRssMb, 0)} MB.`);
  lines.push('', `Full-size labels CSV without DICOM (${labels.rows.toLocaleString('en')} rows): sliceseq ${fmt(labels.ours.seconds, 2)} s, peak RSS ${fmt(labels.ours.peakRssMb, 0)} MB${labels.pandas ? `; pandas (read_csv, split, pivot) ${fmt(labels.pandas.seconds, 2)} s, peak RSS ${fmt(labels.pandas.peakRssMb, 0)} MB` : ''}.`);
  lines.push('', '| cached slice, 224 × 224 × 3 | precision | bytes per slice | competition (752,803 slices) |', '|---|---|---|---|');
  for (const row of cache) lines.push(`| ${row.pipeline} | ${row.precision} | ${row.bytes.toLocaleString('en')} | ${fmt((row.bytes * COMPETITION.trainFiles) / 2 ** 30, 1)} GiB |`);
  const [small, large] = [results[0], results[results.length - 1]];
  const summary: string[] = [];
  const cliSteps = ['inspect', 'first batch', 'predict', 'score'];
  if (results.length > 1) {
    for (const name of [...stepNames, ...peerNames]) {
      const step = (r: SizeResult) => r.steps[name] ?? r.peers[name];
      const ratio = step(large).seconds / step(large).files / (step(small).seconds / step(small).files);
      summary.push(`growth ratio ${name}: ${fmt(ratio, 2)}`);
      // Net of start-up only where the work itself took a second or more at both ends (else it is noise).
      const net = (r: SizeResult) => step(r).seconds - r.steps['start-up'].seconds;
      if (cliSteps.includes(name) && net(small) >= 1 && net(large) >= 1) {
        summary.push(`growth ratio ${name} (net of start-up): ${fmt(net(large) / step(large).files / (net(small) / step(small).files), 2)}`);
      }
    }
  }
  for (const name of stepNames) summary.push(`peak RSS ${name}: ${fmt(Math.max(...results.map((r) => r.steps[name].peakRssMb)), 0)} MB`);
  process.stdout.write(`${lines.join('\n')}\n\n${summary.join('\n')}\n`);
  const json = option('json');
  if (json) writeFileSync(json, JSON.stringify({ sizes: results, full, labels, cache, imageSide }, null, 2));
} finally {
  if (!keep) rmSync(work, { recursive: true, force: true });
  else say(`work kept in ${work} (${statSync(work).isDirectory() ? 'folder' : ''})`);
}
