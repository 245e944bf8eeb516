/**
 * Preprocessing throughput: DICOM decode + HU → brain/subdural/bone windows → CLAHE (OpenCV's, clip 3, 8×8) →
 * resize to 224, through the loader's decode workers (1 and 2 by default; the main thread only batches; the native
 * kernels where `npm run native` built them, SLICESEQ_NATIVE_KERNELS=0 for JavaScript and WebAssembly), on
 * demo-phantom DICOM files at 64×64 and 224×224. Python twin: bench/preprocess.py (pydicom + numpy + OpenCV,
 * with as many threads), run in the same `npm run bench`.
 *
 *   npx tsx bench/preprocess.ts [--slices 320] [--workers 1,2]     prints JSON
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setLogLevel, type LogLevel } from '../src/core/log.ts';
import { closeDecodePools } from '../src/data/decode-pool.ts';
import { loadDataset } from '../src/data/datasets/registry.ts';
import { writeDemoDataset } from '../src/data/demo/dataset.ts';
import { forEachBatch, PatientLoader } from '../src/data/loader.ts';
import { buildPreprocess, type TransformConfig } from '../src/data/preprocess.ts';
import { nativeKernels } from '../src/data/transforms/native-kernels.ts';

export const benchPipeline: TransformConfig[] = [
  { name: 'window', windows: ['brain', 'subdural', 'bone'] },
  { name: 'clahe', clipLimit: 3, tileGridSize: [8, 8] },
  { name: 'resize', size: 224 },
];

export interface PreprocessBenchCase {
  /** Input slice size (pixels per side); output is always 224×224×3. */
  size: number;
  slices: number;
  seconds: number;
  slicesPerSecond: number;
}

export interface PreprocessBenchResult {
  workers: number;
  /** Over all cases: total slices / total seconds. */
  slicesPerSecond: number;
  cases: PreprocessBenchCase[];
  pipeline: string;
  /** Where window, CLAHE and resize ran: the native kernels (`npm run native`), or JavaScript and OpenCV WebAssembly. */
  kernels: string;
}

const SLICES_PER_PATIENT = 16;

/** One loader epoch (decode, preprocess, batch) over `slices` demo slices of `size` pixels, after a warm-up epoch. */
async function runCase(size: number, slices: number, workers: number): Promise<PreprocessBenchCase> {
  const dir = mkdtempSync(join(tmpdir(), `sliceseq-bench-pre-${size}-`));
  try {
    const patients = Math.max(1, Math.ceil(slices / SLICES_PER_PATIENT));
    writeDemoDataset(dir, { patients, seed: 1, size, slices: SLICES_PER_PATIENT, testPatients: 0 });
    const dataset = await loadDataset({ name: 'rsna-ich', root: dir, cacheDir: null });
    const loader = new PatientLoader(dataset, { batchSize: 4, seed: 0, shuffle: false, workers }, { pipeline: buildPreprocess(benchPipeline) });
    const total = dataset.patients.reduce((sum, p) => sum + p.slices.length, 0);
    await forEachBatch(loader.epoch(0), () => {}); // warm-up: workers started, OpenCV loaded, JIT
    const start = performance.now();
    await forEachBatch(loader.epoch(1), () => {});
    const seconds = (performance.now() - start) / 1000;
    return { size, slices: total, seconds, slicesPerSecond: total / seconds };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchPreprocess(options: { slices?: number; sizes?: number[]; workers?: number } = {}): Promise<PreprocessBenchResult> {
  const slices = options.slices ?? 320;
  const sizes = options.sizes ?? [64, 224];
  const workers = options.workers ?? 1;
  const levels: LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];
  const previous = levels.find((level) => level === process.env.SLICESEQ_LOG) ?? 'info';
  setLogLevel('warn'); // the phantom's RSNA-quirk files would log on read
  try {
    const cases: PreprocessBenchCase[] = [];
    for (const size of sizes) cases.push(await runCase(size, slices, workers));
    const total = cases.reduce((sum, c) => sum + c.slices, 0);
    const seconds = cases.reduce((sum, c) => sum + c.seconds, 0);
    const native = nativeKernels();
    return {
      workers,
      slicesPerSecond: total / seconds,
      cases,
      pipeline: 'readDicom (HU) → window ×3 → CLAHE (OpenCV) → resize 224, in decode workers',
      kernels: native ? `native (OpenCV ${native.opencvVersion})` : 'JavaScript + OpenCV WebAssembly',
    };
  } finally {
    await closeDecodePools();
    setLogLevel(previous);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const option = (name: string) => {
    const at = process.argv.indexOf(`--${name}`);
    return at >= 0 ? process.argv[at + 1] : undefined;
  };
  const slices = option('slices') === undefined ? {} : { slices: Number(option('slices')) };
  const results = [];
  for (const workers of (option('workers') ?? '1,2').split(',').map(Number)) results.push(await benchPreprocess({ ...slices, workers }));
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
}
