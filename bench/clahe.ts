/**
 * CLAHE kernel speed: a TypeScript implementation of OpenCV's algorithm (bench/clahe-typescript.ts) beside OpenCV's
 * own compiled to WebAssembly (@techstark/opencv-js, which the `clahe` transform uses) and sharp's
 * exact-local CLAHE, on one 8-bit channel per call, rounds interleaved so a busy machine slows all alike. Also
 * checks that the two OpenCV-algorithm versions give the same pixels.
 *
 *   npx tsx bench/clahe.ts [--size 224] [--calls 300] [--rounds 3]
 */
import sharp from 'sharp';
import { loadOpenCv } from '../src/data/transforms/opencv.ts';
import { claheUint8 } from './clahe-typescript.ts';

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : fallback;
}

/** A CT-like 8-bit channel: a bright ring around low-contrast texture, with noise. */
function testImage(size: number): Uint8Array {
  const image = new Uint8Array(size * size);
  let seed = 12345;
  const noise = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5) * 12;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const r = Math.hypot((x - size / 2) / (0.4 * size), (y - size / 2) / (0.45 * size));
      const base = r > 1 ? 0 : r > 0.85 ? 250 : 110 + 25 * Math.sin(x / 3) * Math.cos(y / 4);
      image[y * size + x] = Math.max(0, Math.min(255, Math.round(base + noise())));
    }
  }
  return image;
}

function msPerCall(calls: number, run: () => unknown): number {
  const start = performance.now();
  for (let i = 0; i < calls; i++) run();
  return (performance.now() - start) / calls;
}

async function msPerCallAsync(calls: number, run: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < calls; i++) await run();
  return (performance.now() - start) / calls;
}

const size = Number(option('size', '224'));
const calls = Number(option('calls', '300'));
const rounds = Number(option('rounds', '3'));
const image = testImage(size);
const grid = { tilesX: 8, tilesY: 8 };
const ours = new Uint8Array(size * size);
const loadStart = performance.now();
const cv = await loadOpenCv();
const openCvLoadMs = performance.now() - loadStart;
const clahe = new cv.CLAHE(3, new cv.Size(8, 8));
// As the transform calls it: fill a Mat in the wasm heap, apply, copy the result out.
const runOpenCv = () => {
  const src = new cv.Mat(size, size, cv.CV_8UC1);
  const dst = new cv.Mat();
  src.data.set(image);
  clahe.apply(src, dst);
  const out = Uint8Array.from(dst.data);
  src.delete();
  dst.delete();
  return out;
};
const tile = Math.ceil(size / 8);
const runSharp = () => sharp(image, { raw: { width: size, height: size, channels: 1 } }).clahe({ width: tile, height: tile, maxSlope: 3 }).raw().toBuffer();
const results: Record<string, number[]> = { typescript: [], 'opencv-js': [], 'sharp (exact local)': [] };
for (let round = 0; round < rounds + 1; round++) {
  const typescript = msPerCall(calls, () => claheUint8(image, size, size, 3, grid, ours));
  const wasm = msPerCall(calls, runOpenCv);
  const local = await msPerCallAsync(Math.ceil(calls / 10), runSharp);
  if (round === 0) continue; // warm-up round (JIT, wasm tiering)
  results.typescript.push(typescript);
  results['opencv-js'].push(wasm);
  results['sharp (exact local)'].push(local);
}
const reference = claheUint8(image, size, size, 3, grid);
const agree = runOpenCv().every((v, i) => v === reference[i]);
const best = Object.fromEntries(Object.entries(results).map(([name, times]) => [name, Math.min(...times)]));
process.stdout.write(
  `${JSON.stringify({ size, clipLimit: 3, tileGridSize: [8, 8], msPerChannel: best, rounds: results, openCvLoadMs, openCvEqualsOurs: agree }, null, 2)}\n`,
);
