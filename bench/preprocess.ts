/**
 * Preprocessing throughput: DICOM decode + HU (readDicom) → brain/subdural/bone windows → CLAHE → resize 224,
 * one patient at a time (its slices concurrently, as the loader does), on demo-phantom DICOM files at 64×64
 * and 224×224. Python twin for comparison: bench/preprocess.py (pydicom + numpy + OpenCV).
 *
 *   npx tsx bench/preprocess.ts [--slices 320]     prints JSON
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setLogLevel, type LogLevel } from '../src/core/log.ts';
import { writeDemoDataset } from '../src/data/demo/dataset.ts';
import { buildPreprocess, type TransformConfig } from '../src/data/preprocess.ts';
import { readDicom } from '../src/data/readers/dicom.ts';

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
  /** Over all cases: total slices / total seconds. */
  slicesPerSecond: number;
  cases: PreprocessBenchCase[];
  pipeline: string;
}

const SLICES_PER_PATIENT = 16;

async function runCase(size: number, slices: number): Promise<PreprocessBenchCase> {
  const dir = mkdtempSync(join(tmpdir(), `sliceseq-bench-pre-${size}-`));
  try {
    const patients = Math.max(1, Math.ceil(slices / SLICES_PER_PATIENT));
    writeDemoDataset(dir, { patients, seed: 1, size, slices: SLICES_PER_PATIENT, testPatients: 0 });
    const files = readdirSync(join(dir, 'stage_2_train')).map((name) => join(dir, 'stage_2_train', name));
    const preprocess = buildPreprocess(benchPipeline);
    const patientFiles = Array.from({ length: patients }, (_, p) => files.slice(p * SLICES_PER_PATIENT, (p + 1) * SLICES_PER_PATIENT));
    // Warm-up (sharp/libvips initialisation, JIT), not timed.
    await preprocess.apply(await Promise.all(patientFiles[0].slice(0, 2).map((f) => readDicom(f))), { train: false });
    const start = performance.now();
    for (const group of patientFiles) {
      const decoded = await Promise.all(group.map((file) => readDicom(file)));
      await preprocess.apply(decoded, { train: false });
    }
    const seconds = (performance.now() - start) / 1000;
    return { size, slices: files.length, seconds, slicesPerSecond: files.length / seconds };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchPreprocess(options: { slices?: number; sizes?: number[] } = {}): Promise<PreprocessBenchResult> {
  const slices = options.slices ?? 320;
  const sizes = options.sizes ?? [64, 224];
  const levels: LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];
  const previous = levels.find((level) => level === process.env.SLICESEQ_LOG) ?? 'info';
  setLogLevel('warn'); // the phantom's RSNA-quirk files would log on read
  try {
    const cases: PreprocessBenchCase[] = [];
    for (const size of sizes) cases.push(await runCase(size, slices));
    const total = cases.reduce((sum, c) => sum + c.slices, 0);
    const seconds = cases.reduce((sum, c) => sum + c.seconds, 0);
    return { slicesPerSecond: total / seconds, cases, pipeline: 'readDicom (HU) → window ×3 → CLAHE → resize 224' };
  } finally {
    setLogLevel(previous);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const at = process.argv.indexOf('--slices');
  const result = await benchPreprocess(at >= 0 ? { slices: Number(process.argv[at + 1]) } : {});
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}
