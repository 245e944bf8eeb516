import type { SliceMeta } from './types.ts';
import type { MissingRescale } from './readers/dicom.ts';
import type { Rng } from '../core/rng.ts';

/**
 * Patients: grouping slice files into patients, ordering each patient's slices along the body, and fitting
 * variable slice counts into batches (limit, bucket, pad).
 */

/** One 2-D slice on disk: a file, and for multi-slice files (NIfTI volumes) which of its slices. */
export interface SliceRef {
  path: string;
  frame?: number;
  /** The slice's own id in its dataset's terms (RSNA: the image id, a manifest's id or path cell); see `sliceId`. */
  id?: string;
  /** How to read a CT slice without rescale tags, where its dataset's config says (`rescale`, `onMissingRescale`). */
  missingRescale?: MissingRescale;
}

/** What predictions and submissions call a slice: its dataset id, else its file (and `#frame` within a volume). */
export function sliceId(ref: SliceRef): string {
  return ref.id ?? (ref.frame === undefined ? ref.path : `${ref.path}#${ref.frame}`);
}

/** A patient as a dataset lists it: ordered slices, a flat target row, and optional per-slice target rows. */
export interface Patient {
  id: string;
  slices: SliceRef[];
  /** Flat target row (see labels/schema.ts); absent for unlabelled data such as a test split. */
  targets?: Float32Array;
  /** One flat target row per slice, in slice order, where the labels are per slice. */
  sliceTargets?: Float32Array[];
  /** Per slice, in slice order, its dense label maps (a dense-ordinal group's mask files). */
  sliceMasks?: MaskRef[];
}

/**
 * The mask files of one slice: one file per type (single-channel, in the group's type order) or one file with a
 * channel per type; `frame` picks the slice of a volume (NIfTI), as for the image.
 */
export interface MaskRef {
  paths: string[];
  frame?: number;
}

/** The header fields that order slices; a subset of SliceMeta so a scan index can store just these. */
export type OrderMeta = Pick<SliceMeta, 'imagePosition' | 'imageOrientation' | 'instanceNumber'>;

export interface OrderableSlice {
  /** File name (or path) used as the last tie-breaker and the last-resort order. */
  name: string;
  meta: OrderMeta;
}

export type OrderRule = 'position' | 'instance' | 'name';

const naturalCollator = new Intl.Collator('en', { numeric: true, sensitivity: 'variant' });

/** Compares file names so that `slice2` sorts before `slice10`; stable across machines (fixed locale). */
export function compareNames(a: string, b: string): number {
  return naturalCollator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);
}

/** The slice normal: row direction cosines × column direction cosines. */
export function sliceNormal(orientation: NonNullable<SliceMeta['imageOrientation']>): [number, number, number] {
  const [r0, r1, r2, c0, c1, c2] = orientation;
  return [r1 * c2 - r2 * c1, r2 * c0 - r0 * c2, r0 * c1 - r1 * c0];
}

/** Distance of a slice along `normal` (mm): ImagePositionPatient · normal. */
export function positionAlong(position: NonNullable<SliceMeta['imagePosition']>, normal: [number, number, number]): number {
  return position[0] * normal[0] + position[1] * normal[1] + position[2] * normal[2];
}

function hasPosition(meta: OrderMeta): boolean {
  return meta.imagePosition !== undefined && meta.imageOrientation !== undefined;
}

/**
 * Orders a patient's slices. The rule, first that applies to every slice:
 * 1. `position`: every slice has ImagePositionPatient and ImageOrientationPatient → ascending distance along
 *    the slice normal (row cosines × column cosines) of the first slice, so oblique stacks order correctly and
 *    file names / instance numbers do not matter; ties by InstanceNumber, then name.
 * 2. `instance`: every slice has InstanceNumber → ascending InstanceNumber; ties by name.
 * 3. `name`: natural order of the file names (`2.png` before `10.png`).
 * Returns the indices into `slices` in order, and which rule decided.
 */
export function orderSlices(slices: readonly OrderableSlice[]): { order: number[]; rule: OrderRule } {
  const indices = slices.map((_, i) => i);
  const byName = (a: number, b: number) => compareNames(slices[a].name, slices[b].name);
  const byInstance = (a: number, b: number) =>
    (slices[a].meta.instanceNumber ?? 0) - (slices[b].meta.instanceNumber ?? 0) || byName(a, b);
  if (slices.length > 0 && slices.every((s) => hasPosition(s.meta))) {
    const normal = sliceNormal(slices[0].meta.imageOrientation!);
    const along = slices.map((s) => positionAlong(s.meta.imagePosition!, normal));
    const withInstance = slices.every((s) => s.meta.instanceNumber !== undefined);
    return {
      order: indices.sort((a, b) => along[a] - along[b] || (withInstance ? byInstance(a, b) : byName(a, b))),
      rule: 'position',
    };
  }
  if (slices.every((s) => s.meta.instanceNumber !== undefined)) return { order: indices.sort(byInstance), rule: 'instance' };
  return { order: indices.sort(byName), rule: 'name' };
}

/** What `inspect` reports about one patient's order. */
export interface OrderCheck {
  rule: OrderRule;
  /** Slices sharing a position with their neighbour (duplicates or a second series mixed in). */
  duplicatePositions: number;
  /** Slices whose orientation differs from the first slice's (by more than ~0.6°). */
  orientationMismatches: number;
  /** Gaps between neighbouring slices along the normal (mm), for `position` order. */
  spacing?: { min: number; median: number; max: number };
  /** For `position` order with instance numbers: whether InstanceNumber rises (or falls) monotonically with position. */
  instanceMonotonic?: boolean;
  /** Slices without ImagePositionPatient/ImageOrientationPatient in a patient whose other slices have them: they
   * made the whole patient fall back to another order. */
  withoutPosition?: number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Checks slices already in order (as `orderSlices` returned them). */
export function checkOrder(ordered: readonly OrderableSlice[], rule: OrderRule): OrderCheck {
  const check: OrderCheck = { rule, duplicatePositions: 0, orientationMismatches: 0 };
  if (rule !== 'position') {
    const without = ordered.filter((s) => !hasPosition(s.meta)).length;
    if (without > 0 && without < ordered.length) check.withoutPosition = without;
  }
  if (rule !== 'position' || ordered.length === 0) return check;
  const first = ordered[0].meta.imageOrientation!;
  const normal = sliceNormal(first);
  check.orientationMismatches = ordered.filter((s) =>
    s.meta.imageOrientation!.some((value, i) => Math.abs(value - first[i]) > 0.01),
  ).length;
  const along = ordered.map((s) => positionAlong(s.meta.imagePosition!, normal));
  const gaps = along.slice(1).map((value, i) => value - along[i]);
  check.duplicatePositions = gaps.filter((gap) => Math.abs(gap) < 1e-3).length;
  if (gaps.length > 0) check.spacing = { min: Math.min(...gaps), median: median(gaps), max: Math.max(...gaps) };
  if (ordered.every((s) => s.meta.instanceNumber !== undefined)) {
    const steps = ordered.slice(1).map((s, i) => s.meta.instanceNumber! - ordered[i].meta.instanceNumber!);
    check.instanceMonotonic = steps.every((step) => step > 0) || steps.every((step) => step < 0);
  }
  return check;
}

export type GroupBy = 'study' | 'series';

/** The grouping key of a slice: its StudyInstanceUID or SeriesInstanceUID; undefined when the header lacks it. */
export function groupKey(meta: Pick<SliceMeta, 'studyInstanceUid' | 'seriesInstanceUid'>, by: GroupBy): string | undefined {
  return by === 'study' ? meta.studyInstanceUid : meta.seriesInstanceUid;
}

/** Groups items by a key, keeping first-seen order of the groups. */
export function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

/**
 * How to fit more than `maxSlices` slices:
 * - `crop`: the central `maxSlices` consecutive slices (start = floor((count - max) / 2)), keeping full resolution
 *   along the body over the middle of the scan;
 * - `resample`: `maxSlices` evenly spaced slices over the whole scan, first and last included
 *   (index round(i·(count-1)/(max-1))), keeping coverage at a coarser spacing.
 * Slice-level labels follow the kept slices (select them with the same indices).
 */
export type SliceLimitRule = 'crop' | 'resample';

/** Indices of the slices kept out of `count` under `maxSlices` (all of them when count ≤ maxSlices). */
export function limitSliceIndices(count: number, maxSlices: number | undefined, rule: SliceLimitRule): number[] {
  if (maxSlices !== undefined && (!Number.isInteger(maxSlices) || maxSlices < 1)) {
    throw new Error(`maxSlices must be a positive integer, got ${maxSlices}`);
  }
  if (maxSlices === undefined || count <= maxSlices) return Array.from({ length: count }, (_, i) => i);
  if (rule === 'crop') {
    const start = Math.floor((count - maxSlices) / 2);
    return Array.from({ length: maxSlices }, (_, i) => start + i);
  }
  if (maxSlices === 1) return [Math.floor((count - 1) / 2)];
  return Array.from({ length: maxSlices }, (_, i) => Math.round((i * (count - 1)) / (maxSlices - 1)));
}

/** A patient with at most `maxSlices` slices; slice targets follow the kept slices. */
export function limitPatientSlices(patient: Patient, maxSlices: number | undefined, rule: SliceLimitRule): Patient {
  if (maxSlices === undefined || patient.slices.length <= maxSlices) return patient;
  const keep = limitSliceIndices(patient.slices.length, maxSlices, rule);
  return {
    ...patient,
    slices: keep.map((i) => patient.slices[i]),
    ...(patient.sliceTargets ? { sliceTargets: keep.map((i) => patient.sliceTargets![i]) } : {}),
    ...(patient.sliceMasks ? { sliceMasks: keep.map((i) => patient.sliceMasks![i]) } : {}),
  };
}

/**
 * Splits patient indices into batches. Without bucketing: consecutive runs of `order`. With bucketing, patients
 * of similar slice counts share a batch (less padding): `order` is cut into windows of `window` batches, each
 * window sorted by slice count and cut into batches, and the batches shuffled with `rng` so an epoch does not
 * run from short to long scans. With a seeded `order` and `rng` the result is reproducible.
 */
export function makeBatches(
  order: readonly number[],
  sliceCounts: readonly number[],
  options: { batchSize: number; dropLast: boolean; bucketing?: { window: number; rng: Rng } },
): number[][] {
  const { batchSize, dropLast, bucketing } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
  const chunk = (items: readonly number[]) => {
    const batches: number[][] = [];
    for (let i = 0; i < items.length; i += batchSize) batches.push(items.slice(i, i + batchSize));
    return batches;
  };
  let batches: number[][];
  if (!bucketing) {
    batches = chunk(order);
  } else {
    const windowSize = batchSize * bucketing.window;
    batches = [];
    for (let start = 0; start < order.length; start += windowSize) {
      // A stable sort keeps the seeded order among equal counts.
      const window = order.slice(start, start + windowSize).sort((a, b) => sliceCounts[a] - sliceCounts[b]);
      batches.push(...chunk(window));
    }
  }
  if (dropLast && batches.length > 0 && batches[batches.length - 1].length < batchSize) batches.pop();
  if (bucketing) bucketing.rng.shuffle(batches);
  return batches;
}
