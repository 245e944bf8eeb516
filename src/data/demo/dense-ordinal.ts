import { join } from 'node:path';
import sharp from 'sharp';
import { writeFileAtomic, writeJsonAtomic } from '../../core/atomic.ts';
import { Rng } from '../../core/rng.ts';
import { parseOrThrow } from '../../core/validate.ts';
import { jointIndex } from '../../labels/dense-ordinal.ts';
import { manifestDemoOptionsSchema, MANIFEST_CSV, MANIFEST_GROUND_TRUTH, MANIFEST_IMAGES, patientSeed, type ManifestDemoOptions, type ManifestDemoSummary, type ResolvedManifestDemoOptions } from './manifest-demo.ts';
import { Raster } from './raster.ts';

/**
 * Synthetic skin photographs with four kinds of damage graded per pixel: healthy 0, mild 1, moderate 2, severe 3.
 * Each lesion is an ellipse graded from its peak grade at the centre down to 1 at the rim; every kind leaves its
 * own additive mark, scaled by the grade: erythema reddens, scaling adds a checker of 2×2-pixel flakes, crusting turns
 * the skin yellow-brown, lichenification adds coarse diagonal ridges and darkens. Marks add up where lesions
 * overlap, so each kind stays readable at every pixel.
 *
 * The point of the set: in the training images (split `train`) an erythema lesion never overlaps a scaling one
 * and crusting never overlaps lichenification, so pixels with both are absent from training; every test image
 * (split `test`, every fifth image) has such an overlap. A per-type regression can grade those pixels; a softmax
 * over the 256 joint classes has never been taught them.
 *
 *   manifest.csv                    patient_id,path,slice,mask_<type>…,split (rows in random order)
 *   images/<id>/<k>.png             slice k: an RGB image (one slice by default; more slices taper the lesions)
 *   masks/<id>/<k>_<type>.png       grey PNG, the grade 0..3 per pixel
 *   demo-manifest.json              generator, options, the group, per image its lesions, joint-class counts
 */
export const denseDamageTypes = ['erythema', 'scaling', 'crusting', 'lichenification'] as const;
export const DENSE_LEVELS = 4;
export const MASKS_FOLDER = 'masks';
export const DENSE_DEMO_ENTRIES = [MANIFEST_CSV, MANIFEST_IMAGES, MASKS_FOLDER, MANIFEST_GROUND_TRUTH] as const;
/** Pairs of types whose lesions overlap only in the test images. */
const heldOutPairs: Array<[number, number]> = [
  [0, 1],
  [2, 3],
];

export const denseOrdinalDemoGroup = {
  kind: 'dense-ordinal' as const,
  name: 'damage',
  classes: [...denseDamageTypes],
  levels: DENSE_LEVELS,
};

interface Lesion {
  type: number;
  peak: number;
  cx: number;
  cy: number;
  rx: number;
  ry: number;
  rotation: number;
}

/** Grade of a lesion at (x, y): its peak at the centre falling to 1 at the rim, 0 outside. */
function lesionGrade(lesion: Lesion, x: number, y: number): number {
  const cos = Math.cos(lesion.rotation);
  const sin = Math.sin(lesion.rotation);
  const u = x - lesion.cx;
  const v = y - lesion.cy;
  const rho = Math.hypot((cos * u + sin * v) / lesion.rx, (-sin * u + cos * v) / lesion.ry);
  return rho >= 1 ? 0 : Math.ceil(lesion.peak * (1 - rho));
}

function overlaps(a: Lesion, b: Lesion): boolean {
  return Math.hypot(a.cx - b.cx, a.cy - b.cy) < Math.max(a.rx, a.ry) + Math.max(b.rx, b.ry) + 1;
}

/** The lesions of one image: about three of the four kinds, placed so held-out pairs overlap only in test images. */
function drawLesions(rng: Rng, size: number, test: boolean): Lesion[] {
  const draw = (type: number): Lesion => {
    const r = size * rng.uniform(0.13, 0.22);
    return { type, peak: 1 + rng.int(3), cx: size * rng.uniform(0.2, 0.8), cy: size * rng.uniform(0.2, 0.8), rx: r * rng.uniform(0.8, 1.2), ry: r * rng.uniform(0.8, 1.2), rotation: rng.uniform(0, Math.PI) };
  };
  const present = denseDamageTypes.map(() => rng.float() < 0.75);
  if (test) {
    // At least one held-out pair, drawn on top of each other.
    const pair = heldOutPairs[rng.int(heldOutPairs.length)];
    present[pair[0]] = true;
    present[pair[1]] = true;
  }
  const lesions: Lesion[] = [];
  for (let type = 0; type < denseDamageTypes.length; type++) {
    if (!present[type]) continue;
    const partner = heldOutPairs.find((pair) => pair[1] === type)?.[0];
    const other = partner !== undefined ? lesions.find((l) => l.type === partner) : undefined;
    let lesion = draw(type);
    if (other && test) {
      // Centre within half the partner's radius: a real overlap.
      const angle = rng.uniform(0, 2 * Math.PI);
      const distance = rng.uniform(0, 0.5) * Math.min(other.rx, other.ry);
      lesion = { ...lesion, cx: other.cx + Math.cos(angle) * distance, cy: other.cy + Math.sin(angle) * distance };
    } else if (other) {
      let tries = 0;
      while (overlaps(lesion, other) && tries++ < 50) lesion = draw(type);
      if (overlaps(lesion, other)) continue; // no room: leave this kind out of the image
    }
    lesions.push(lesion);
  }
  return lesions;
}

/** Per type, the grade map (max over that type's lesions, their radii scaled by `taper`), row-major. */
function gradeMaps(drawn: readonly Lesion[], size: number, taper: number): Uint8Array[] {
  const maps = denseDamageTypes.map(() => new Uint8Array(size * size));
  for (const lesion of drawn.map((l) => ({ ...l, rx: l.rx * taper, ry: l.ry * taper }))) {
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const grade = lesionGrade(lesion, x + 0.5, y + 0.5);
        const i = y * size + x;
        if (grade > maps[lesion.type][i]) maps[lesion.type][i] = grade;
      }
    }
  }
  return maps;
}

/** The RGB image: skin tone with soft shading and noise, plus each kind's mark scaled by its grade. */
function renderImage(maps: readonly Uint8Array[], size: number, rng: Rng): Raster[] {
  const tone = [150 + rng.uniform(-12, 12), 112 + rng.uniform(-10, 10), 96 + rng.uniform(-10, 10)];
  const channels = tone.map((value) => new Raster(size, value));
  const light = { x: rng.uniform(0, size), y: rng.uniform(0, size) };
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = y * size + x;
      const shading = 12 * (1 - Math.hypot(x - light.x, y - light.y) / size);
      const [e, s, c, l] = maps.map((map) => map[i]);
      // 2×2-pixel blocks: a one-pixel checker would not survive any resampling.
      const flakes = (Math.floor(x / 2) + Math.floor(y / 2)) % 2 === 0 ? 1 : -1;
      const ridges = Math.sin(((x - y) * Math.PI) / 3);
      const mark = [
        24 * e + 4 * c,
        -8 * e + 10 * c,
        -8 * e - 18 * c,
      ];
      for (let k = 0; k < 3; k++) channels[k].data[i] += shading + mark[k] + 11 * s * flakes + 15 * l * ridges - 10 * l;
    }
  }
  for (const channel of channels) channel.noise(rng, 4);
  return channels;
}

async function rgbPng(channels: readonly Raster[], size: number): Promise<Buffer> {
  const bytes = channels.map((c) => c.bytes());
  const data = new Uint8Array(size * size * 3);
  for (let i = 0; i < size * size; i++) for (let k = 0; k < 3; k++) data[i * 3 + k] = bytes[k][i];
  return sharp(data, { raw: { width: size, height: size, channels: 3 } }).png().toBuffer();
}

function greyPng(values: Uint8Array, size: number): Promise<Buffer> {
  return sharp(values, { raw: { width: size, height: size, channels: 1 } }).toColourspace('b-w').png().toBuffer();
}

export function resolveDenseDemoOptions(options: ManifestDemoOptions): ResolvedManifestDemoOptions {
  const parsed = parseOrThrow(manifestDemoOptionsSchema, options, 'dense-ordinal demo options');
  const size = parsed.size ?? 48;
  if (size % 8 !== 0) throw new Error(`dense-ordinal demo options: size: ${size} is not a multiple of 8 (the U-Net halves it three times)`);
  const slices = parsed.slices ?? 1;
  return { patients: parsed.patients, seed: parsed.seed, size, slices: typeof slices === 'number' ? [slices, slices] : slices };
}

/** Writes the dataset into `dir` (every file atomically); the same options give byte-identical files. */
export async function writeDenseOrdinalDemo(dir: string, options: ManifestDemoOptions, onPatient?: () => void): Promise<ManifestDemoSummary> {
  const resolved = resolveDenseDemoOptions(options);
  const { patients: count, seed, size } = resolved;
  const width = Math.max(4, String(count).length);
  const rows: string[] = [];
  const counts = Object.fromEntries(denseDamageTypes.map((type) => [type, Object.fromEntries(Array.from({ length: DENSE_LEVELS }, (_, g) => [String(g), 0]))]));
  const combinations = { train: new Map<number, number>(), test: new Map<number, number>() };
  const records: Array<{ id: string; split: string; slices: number; lesions: Lesion[] }> = [];
  let images = 0;
  for (let p = 0; p < count; p++) {
    const imageSeed = patientSeed('dense-ordinal', seed, p);
    const id = `S${String(p + 1).padStart(width, '0')}`;
    const split = p % 5 === 4 ? 'test' : 'train';
    const lesions = drawLesions(Rng.derive(imageSeed, 'lesions'), size, split === 'test');
    const [min, max] = resolved.slices;
    const slices = min + Rng.derive(imageSeed, 'slice-count').int(max - min + 1);
    const peaks = denseDamageTypes.map(() => 0);
    for (let k = 0; k < slices; k++) {
      const taper = 1 - 0.3 * Math.abs((2 * (k + 0.5)) / slices - 1);
      const maps = gradeMaps(lesions, size, taper);
      const image = renderImage(maps, size, Rng.derive(imageSeed, 'pixels', k));
      const imagePath = `${MANIFEST_IMAGES}/${id}/${k}.png`;
      writeFileAtomic(join(dir, imagePath), await rgbPng(image, size));
      const maskPaths = denseDamageTypes.map((type) => `${MASKS_FOLDER}/${id}/${k}_${type}.png`);
      for (const [t, path] of maskPaths.entries()) writeFileAtomic(join(dir, path), await greyPng(maps[t], size));
      rows.push([id, imagePath, k, ...maskPaths, split].join(','));
      maps.forEach((map, t) => (peaks[t] = Math.max(peaks[t], ...map)));
      const tally = combinations[split as 'train' | 'test'];
      for (let i = 0; i < size * size; i++) {
        const joint = jointIndex(maps.map((map) => map[i]), DENSE_LEVELS);
        tally.set(joint, (tally.get(joint) ?? 0) + 1);
      }
      images += 1;
    }
    denseDamageTypes.forEach((type, t) => (counts[type][String(peaks[t])] += 1));
    records.push({ id, split, slices, lesions });
    onPatient?.();
  }
  Rng.derive(seed, 'demo', 'dense-ordinal', 'row-order').shuffle(rows);
  const header = ['patient_id', 'path', 'slice', ...denseDamageTypes.map((type) => `mask_${type}`), 'split'];
  writeFileAtomic(join(dir, MANIFEST_CSV), `${header.join(',')}\n${rows.join('\n')}\n`);
  const unseen = [...combinations.test.entries()].filter(([joint]) => !combinations.train.has(joint));
  writeJsonAtomic(join(dir, MANIFEST_GROUND_TRUTH), {
    generator: `sliceseq demo-data --kind dense-ordinal (${denseOrdinalDemo.description})`,
    kind: 'dense-ordinal',
    options: resolved,
    group: denseOrdinalDemoGroup,
    combinations: {
      train: combinations.train.size,
      test: combinations.test.size,
      testUnseenInTraining: unseen.length,
      testPixelsOfUnseenCombinations: unseen.reduce((sum, [, n]) => sum + n, 0),
    },
    images: records,
  });
  return { dir, kind: 'dense-ordinal', patients: count, images, counts };
}

export const denseOrdinalDemo = {
  name: 'dense-ordinal',
  description: 'skin photographs: erythema, scaling, crusting and lichenification graded 0-3 per pixel (mask PNGs); test images hold overlaps never seen in training',
  defaults: { size: 48, slices: 1, patients: 200 },
  entries: DENSE_DEMO_ENTRIES,
  resolve: resolveDenseDemoOptions,
  write: writeDenseOrdinalDemo,
};
