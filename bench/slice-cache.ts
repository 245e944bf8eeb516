/**
 * Does the decoded-slice cache (data.cacheDir) pay for itself? Loader epochs (decode, preprocess, batch; no
 * training) over demo-phantom DICOM with the RSNA pipeline (3 windows → CLAHE → resize 224 → flip), without a cache
 * and with one (cold: first epoch writes it; warm: later epochs read it), on the main thread and in workers.
 *
 *   npx tsx bench/slice-cache.ts [--size 512] [--patients 8] [--slices 16] [--workers 0,1]     prints JSON
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setLogLevel } from '../src/core/log.ts';
import { closeDecodePools } from '../src/data/decode-pool.ts';
import { loadDataset } from '../src/data/datasets/registry.ts';
import { writeDemoDataset } from '../src/data/demo/dataset.ts';
import { forEachBatch, PatientLoader } from '../src/data/loader.ts';
import { buildPreprocess } from '../src/data/preprocess.ts';

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : fallback;
}

const size = Number(option('size', '512'));
const patients = Number(option('patients', '8'));
const slices = Number(option('slices', '16'));
const workerCounts = option('workers', '0,1').split(',').map(Number);
const pipeline = [
  { name: 'window', windows: ['brain', 'subdural', 'bone'] },
  { name: 'clahe', clipLimit: 2, tileGridSize: [8, 8] },
  { name: 'resize', size: 224 },
  { name: 'flip', horizontal: 0.5 },
];

setLogLevel('warn');
const work = mkdtempSync(join(tmpdir(), 'sliceseq-bench-cache-'));
try {
  writeDemoDataset(work, { patients, seed: 1, size, slices, testPatients: 0 });
  const dataset = await loadDataset({ name: 'rsna-ich', root: work, cacheDir: null });
  const total = dataset.patients.reduce((sum, p) => sum + p.slices.length, 0);
  const epochSeconds = async (loader: PatientLoader, epoch: number) => {
    const start = performance.now();
    await forEachBatch(loader.epoch(epoch), () => {});
    return (performance.now() - start) / 1000;
  };
  const results = [];
  for (const workers of workerCounts) {
    const config = { batchSize: 4, seed: 0, augment: true, workers };
    const plain = new PatientLoader(dataset, config, { pipeline: buildPreprocess(pipeline) });
    const cacheDir = join(work, `cache-${workers}`);
    const cached = new PatientLoader(dataset, { ...config, cacheDir }, { pipeline: buildPreprocess(pipeline) });
    await epochSeconds(plain, 99); // warm-up: workers started, codecs and OpenCV loaded
    const none = [await epochSeconds(plain, 0), await epochSeconds(plain, 1)];
    const cold = await epochSeconds(cached, 0);
    const warm = [await epochSeconds(cached, 1), await epochSeconds(cached, 2)];
    const rate = (seconds: number) => Number((total / seconds).toFixed(1));
    results.push({
      workers,
      slicesPerSecond: { noCache: rate(Math.min(...none)), cacheCold: rate(cold), cacheWarm: rate(Math.min(...warm)) },
      warmOverNoCache: Number((Math.min(...none) / Math.min(...warm)).toFixed(2)),
    });
  }
  process.stdout.write(`${JSON.stringify({ size, patients, slicesPerPatient: slices, pipeline: 'DICOM → 3 windows → CLAHE → resize 224 → flip', results }, null, 2)}\n`);
} finally {
  await closeDecodePools();
  rmSync(work, { recursive: true, force: true });
}
