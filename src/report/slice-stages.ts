import sharp from 'sharp';
import { Rng } from '../core/rng.ts';
import type { Dataset } from '../data/datasets/types.ts';
import { limitSliceIndices, type Patient } from '../data/patients.ts';
import { buildPreprocess, type TransformConfig } from '../data/preprocess.ts';
import { readSlices } from '../data/readers/index.ts';
import type { Slice } from '../data/types.ts';

/**
 * One patient's slices as a run's preprocessing sees them, stage by stage, as PNG tiles: the raw slice, each
 * window channel on its own, CLAHE before and after, and one seeded augmentation draw. Steps run one at a time
 * through the same transforms the run used (buildPreprocess of each step's config).
 */

export interface SliceStagesOptions {
  preprocess: readonly TransformConfig[];
  seed: number;
  augmentPerSlice?: boolean;
  /** Candidate patients in order (the run's validation split); the first with a positive label is shown. */
  candidates: readonly string[];
  /** Show this patient instead. */
  patient?: string;
  /** At most this many slices, evenly spaced (default 6). */
  maxSlices?: number;
  /** Longest tile side in pixels (default 128). */
  tileSize?: number;
}

export interface StageRow {
  label: string;
  /** One PNG per shown slice. */
  tiles: Buffer[];
}

export interface SliceStages {
  patientId: string;
  /** Positions of the shown slices in the patient's ordered slices, and how many it has. */
  sliceIndices: number[];
  sliceCount: number;
  rows: StageRow[];
  /** What could not be shown, and why. */
  notes: string[];
}

/** Picks the patient to show: the requested one, else the first candidate with a positive target, else the first. */
function pickPatient(patients: readonly Patient[], options: SliceStagesOptions): Patient {
  const byId = new Map(patients.map((p) => [p.id, p]));
  if (options.patient !== undefined) {
    const chosen = byId.get(options.patient);
    if (!chosen) throw new Error(`patient '${options.patient}' is not in the dataset`);
    return chosen;
  }
  const candidates = options.candidates.map((id) => byId.get(id)).filter((p): p is Patient => p !== undefined);
  if (candidates.length === 0) throw new Error('none of the run\'s validation patients is in the dataset');
  return candidates.find((p) => p.targets?.some((value) => value > 0)) ?? candidates[0];
}

async function readPatientSlices(patient: Patient, indices: readonly number[]): Promise<Slice[]> {
  return Promise.all(
    indices.map(async (index) => {
      const { path, frame } = patient.slices[index];
      const slices = await readSlices(path);
      const slice = slices[frame ?? 0];
      if (!slice) throw new Error(`${path} has no frame ${frame}`);
      return slice;
    }),
  );
}

/** 8-bit pixels of the chosen channels: [0, 1] data maps straight to 0..255, anything else (raw HU) by its own range. */
function toBytes(slice: Slice, channels: readonly number[]): Uint8Array {
  let low = Infinity;
  let high = -Infinity;
  for (const c of channels) {
    for (let i = c; i < slice.data.length; i += slice.channels) {
      low = Math.min(low, slice.data[i]);
      high = Math.max(high, slice.data[i]);
    }
  }
  const unit = low >= 0 && high <= 1;
  const offset = unit ? 0 : low;
  const scale = unit ? 255 : high > low ? 255 / (high - low) : 0;
  const pixels = slice.rows * slice.cols;
  const out = new Uint8Array(pixels * channels.length);
  for (let i = 0; i < pixels; i++) {
    channels.forEach((c, k) => (out[i * channels.length + k] = Math.round((slice.data[i * slice.channels + c] - offset) * scale)));
  }
  return out;
}

async function tile(slice: Slice, channels: readonly number[], size: number): Promise<Buffer> {
  return sharp(toBytes(slice, channels), { raw: { width: slice.cols, height: slice.rows, channels: channels.length as 1 | 3 } })
    .resize({ width: size, height: size, fit: 'inside', withoutEnlargement: true })
    .png()
    .toBuffer();
}

/** Three channels as colour, anything else by its first channel in grey. */
function compositeChannels(slice: Slice): number[] {
  return slice.channels === 3 ? [0, 1, 2] : [0];
}

function windowLabel(choice: unknown): string {
  if (typeof choice === 'string') return choice;
  const { center, width } = choice as { center: number; width: number };
  return `${center}/${width}`;
}

/** The stages of one patient of `dataset` (the run's dataset, loaded by the caller). */
export async function buildSliceStages(dataset: Dataset, options: SliceStagesOptions): Promise<SliceStages> {
  const size = options.tileSize ?? 128;
  const patient = pickPatient(dataset.patients, options);
  const sliceIndices = limitSliceIndices(patient.slices.length, options.maxSlices ?? 6, 'resample');
  const raw = await readPatientSlices(patient, sliceIndices);
  const steps = buildPreprocess(options.preprocess).config();
  const rows: StageRow[] = [];
  const notes: string[] = [];
  const addRow = async (label: string, slices: readonly Slice[], channels?: readonly number[]) =>
    rows.push({ label, tiles: await Promise.all(slices.map((s) => tile(s, channels ?? compositeChannels(s), size))) });

  await addRow(raw[0].channels === 1 ? 'raw (own range)' : 'raw', raw);
  let current = raw;
  let sawClahe = false;
  for (const [index, step] of steps.entries()) {
    const single = buildPreprocess([step]);
    if (single.hasRandomSteps()) continue;
    const next = await single.apply(current, { train: false });
    if (step.name === 'window') {
      const windows = step.windows as unknown[];
      for (let c = 0; c < next[0].channels; c++) await addRow(`window: ${windowLabel(windows[c])}`, next, [c]);
    } else if (step.name === 'clahe') {
      sawClahe = true;
      await addRow('before CLAHE', current);
      await addRow('after CLAHE', next);
    } else {
      await addRow(`after ${step.name} (step ${index + 1})`, next);
    }
    current = next;
  }
  if (!sawClahe) {
    // No CLAHE in the run: preview it with its defaults on what the model saw, labelled as such.
    try {
      const preview = await buildPreprocess([{ name: 'clahe' }]).apply(current, { train: false });
      await addRow('before CLAHE (not in this run)', current);
      await addRow('after CLAHE (preview, defaults)', preview);
    } catch (error) {
      notes.push(`CLAHE preview skipped: ${(error as Error).message}`);
    }
  }
  const pipeline = buildPreprocess(steps);
  if (pipeline.hasRandomSteps()) {
    const rng = Rng.derive(options.seed, 'augment', 0, patient.id);
    await addRow('one augmentation draw', await pipeline.apply(raw, { train: true, rng, perSlice: options.augmentPerSlice ?? false }));
  } else {
    notes.push('the preprocessing has no random augmentation step, so there is no augmentation draw to show');
  }
  return { patientId: patient.id, sliceIndices, sliceCount: patient.slices.length, rows, notes };
}

/**
 * Chosen slices of one patient as the model saw them (the run's preprocessing without its random steps), one PNG
 * tile each: what the class-attention heatmaps are drawn under.
 */
export async function preprocessedSliceTiles(
  dataset: Dataset,
  options: { patient: string; sliceIndices: readonly number[]; preprocess: readonly TransformConfig[]; tileSize: number },
): Promise<Buffer[]> {
  const patient = dataset.patients.find((p) => p.id === options.patient);
  if (!patient) throw new Error(`patient '${options.patient}' is not in the dataset`);
  const beyond = options.sliceIndices.find((index) => index >= patient.slices.length);
  if (beyond !== undefined) throw new Error(`patient '${options.patient}' has ${patient.slices.length} slices, not a slice ${beyond + 1}`);
  const raw = await readPatientSlices(patient, options.sliceIndices);
  const steps = buildPreprocess(options.preprocess)
    .config()
    .filter((step) => !buildPreprocess([step]).hasRandomSteps());
  const seen = await buildPreprocess(steps).apply(raw, { train: false });
  return Promise.all(seen.map((slice) => tile(slice, compositeChannels(slice), options.tileSize)));
}
