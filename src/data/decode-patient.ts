import { stat } from 'node:fs/promises';
import { Rng } from '../core/rng.ts';
import type { DenseOrdinalGroup } from '../labels/dense-ordinal.ts';
import type { CacheSource, SliceCache } from './cache.ts';
import { readPatientMasks } from './masks.ts';
import type { MaskRef } from './patients.ts';
import type { Slice } from './types.ts';
import type { MissingRescale, ReadOptions } from './readers/index.ts';

/**
 * Preprocessing as the loader runs it (preprocess.ts `Preprocess` fits): `prepare` runs the deterministic leading
 * steps (its output is cached under `fingerprint()`), then `augment` (training, with the patient's own seeded
 * stream) or `finish` (evaluation) runs the rest. Each takes and returns a patient's slices in order and must
 * keep their number (slice labels follow slices). `config()`, when present, is the plain config a worker
 * thread rebuilds the same pipeline from. `masks`, when present, moves dense label maps through the geometric
 * steps of a stage with the parameters the slices got (preprocess.ts `Preprocess.masks`).
 */
export interface LoaderPipeline {
  fingerprint(): string;
  prepare(slices: Slice[]): Promise<Slice[]>;
  augment(slices: Slice[], rng: Rng, perSlice?: boolean): Promise<Slice[]>;
  finish(slices: Slice[]): Promise<Slice[]>;
  config?(): Array<{ name: string } & Record<string, unknown>>;
  masks?(masks: Slice[], stage: 'prepare' | 'augment' | 'finish', options: { rng?: Rng; perSlice?: boolean; fill: number }): Slice[];
}

/** Reads the slices of one file (one for 2-D images, several for a volume). */
export type SliceFileReader = (path: string, options?: ReadOptions) => Promise<Slice[]>;

/** One patient to decode: its slice files in order, and what fixes its augmentation draw. */
export interface PatientDecodeRequest {
  patientId: string;
  slices: ReadonlyArray<{ path: string; frame?: number; missingRescale?: MissingRescale }>;
  /** Run the random steps with Rng.derive(seed, 'augment', epoch, patientId); otherwise the evaluation steps. */
  augment: boolean;
  augmentPerSlice: boolean;
  seed: number;
  epoch: number;
  /** Dense label maps: each slice's mask files and their group; read, checked and moved with the slices' draw. */
  masks?: { refs: MaskRef[]; group: DenseOrdinalGroup };
}

export interface PatientDecodeTools {
  pipeline?: LoaderPipeline;
  readSlices: SliceFileReader;
  cache?: SliceCache;
}

export interface DecodedPatient {
  slices: Slice[];
  /** One map per slice ([rows, cols, types]), where the request has masks. */
  masks?: Slice[];
  /** Whether the decoded-slice cache held the prepared slices (undefined without a cache). */
  cacheHit?: boolean;
}

/**
 * A patient's slices: from the cache or read and prepared (then cached), then augmented or finished; with masks,
 * its label maps read and moved alike. The same function runs on the main thread and in decode workers, so the
 * bytes do not depend on where it ran.
 */
export async function decodePatient(request: PatientDecodeRequest, tools: PatientDecodeTools): Promise<DecodedPatient> {
  const { pipeline, cache } = tools;
  if (request.masks && cache) throw new Error(`patient '${request.patientId}': the decoded-slice cache does not hold label maps`);
  if (request.masks && pipeline && !pipeline.masks) throw new Error('loader: this pipeline cannot move label maps (no masks()); use buildPreprocess');
  let slices: Slice[] | undefined;
  let masks: Slice[] | undefined;
  let key: string | undefined;
  if (cache) {
    key = cache.key(pipeline?.fingerprint() ?? 'none', await cacheSources(request));
    slices = await cache.get(key);
  }
  const cacheHit = cache ? slices !== undefined : undefined;
  if (!slices) {
    slices = await readPatient(request, tools.readSlices);
    if (request.masks) {
      masks = await readPatientMasks(request.masks.refs, slices, request.masks.group, tools.readSlices).catch((error: Error) => {
        throw new Error(`patient '${request.patientId}': ${error.message}`);
      });
      if (pipeline) masks = pipeline.masks!(masks, 'prepare', { fill: request.masks.group.ignoreValue });
    }
    if (pipeline) slices = checkCount(request, await pipeline.prepare(slices), 'preprocessing');
    if (cache && key) cache.put(key, slices);
  }
  if (pipeline) {
    const augmentRng = () => Rng.derive(request.seed, 'augment', request.epoch, request.patientId);
    const rest = request.augment ? await pipeline.augment(slices, augmentRng(), request.augmentPerSlice) : await pipeline.finish(slices);
    slices = checkCount(request, rest, request.augment ? 'augmentation' : 'preprocessing');
    // The maps get the draw the slices got: the same stream, in the same state.
    if (masks) {
      const fill = request.masks!.group.ignoreValue;
      masks = request.augment
        ? pipeline.masks!(masks, 'augment', { rng: augmentRng(), perSlice: request.augmentPerSlice, fill })
        : pipeline.masks!(masks, 'finish', { fill });
    }
  }
  return { slices, ...(masks ? { masks } : {}), ...(cacheHit === undefined ? {} : { cacheHit }) };
}

async function cacheSources(request: PatientDecodeRequest): Promise<CacheSource[]> {
  return Promise.all(
    request.slices.map(async ({ path, frame, missingRescale }) => {
      const info = await stat(path).catch((error: Error) => {
        throw new Error(`patient '${request.patientId}': cannot read ${path}: ${error.message}`);
      });
      return { path, frame, size: info.size, mtimeMs: info.mtimeMs, ...(missingRescale ? { missingRescale } : {}) };
    }),
  );
}

/** Reads each file once (a volume serves all its frames), in slice order. */
async function readPatient(request: PatientDecodeRequest, readSlices: SliceFileReader): Promise<Slice[]> {
  const id = request.patientId;
  const files = new Map<string, Promise<Slice[]>>();
  const read = (path: string, missingRescale: MissingRescale | undefined) => {
    let slices = files.get(path);
    if (!slices) {
      slices = readSlices(path, missingRescale ? { missingRescale } : undefined).catch((error: Error) => {
        throw new Error(`patient '${id}': ${error.message}`);
      });
      files.set(path, slices);
    }
    return slices;
  };
  return Promise.all(
    request.slices.map(async ({ path, frame, missingRescale }) => {
      const slices = await read(path, missingRescale);
      if (frame === undefined && slices.length !== 1) {
        throw new Error(`patient '${id}': ${path} holds ${slices.length} slices; list each as a frame`);
      }
      const slice = slices[frame ?? 0];
      if (!slice) throw new Error(`patient '${id}': ${path} has no frame ${frame} (it has ${slices.length})`);
      return slice;
    }),
  );
}

function checkCount(request: PatientDecodeRequest, slices: Slice[], stage: string): Slice[] {
  if (slices.length !== request.slices.length) {
    throw new Error(`${stage} changed the slice count of patient '${request.patientId}' from ${request.slices.length} to ${slices.length}`);
  }
  return slices;
}
