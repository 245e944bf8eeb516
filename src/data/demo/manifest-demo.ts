import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic, writeJsonAtomic } from '../../core/atomic.ts';
import { hashSeed, Rng } from '../../core/rng.ts';
import { parseOrThrow } from '../../core/validate.ts';
import { parseLabelSchema, type LabelSchema, type LabelSchemaInput } from '../../labels/schema.ts';
import { labelColumns, parseTargetCells } from '../datasets/targets.ts';
import type { Raster } from './raster.ts';

/**
 * The 2-D demo kinds (abdominal organs, ordinal damage grades, chest X-rays) share one layout, read by the
 * `manifest` dataset: grey PNG slices and a CSV with one row per slice.
 *   manifest.csv               patient_id,path,slice,<label columns> (rows in random order)
 *   images/<patient>/<k>.png   slice k of a patient
 *   demo-manifest.json         the generator, its options, the label schema and each patient's labels
 * A kind says what its labels are, how to draw them, and how to render a patient with them.
 */
export interface ManifestDemoKind<Labels> {
  name: string;
  description: string;
  /** The label schema of the CSV's label columns (group names and classes; experiments add head options). */
  labels: LabelSchemaInput;
  defaults: { size: number; slices: number | [number, number] };
  drawLabels(rng: Rng): Labels;
  /** The CSV cells of these labels, by label column (see datasets/targets.ts). */
  cells(labels: Labels): Record<string, string>;
  /**
   * The patient's slices drawn as `labels` say. Anatomy, finding geometry and noise come from streams derived
   * from `seed` whatever the labels: the same seed with other labels differs only where findings are drawn.
   */
  render(labels: Labels, seed: number, options: { size: number; slices: number }): Raster[];
}

export const MANIFEST_CSV = 'manifest.csv';
export const MANIFEST_IMAGES = 'images';
export const MANIFEST_GROUND_TRUTH = 'demo-manifest.json';
/** Every entry a manifest demo writes in its folder. */
export const MANIFEST_DEMO_ENTRIES = [MANIFEST_CSV, MANIFEST_IMAGES, MANIFEST_GROUND_TRUTH] as const;

const sliceCountSchema = z.union([
  z.number().int().min(1).max(512),
  z.tuple([z.number().int().min(1), z.number().int().max(512)]).refine(([min, max]) => min <= max, 'min must not exceed max'),
]);

export const manifestDemoOptionsSchema = z
  .object({
    patients: z.number().int().min(1).max(100_000),
    seed: z.number().int().min(0),
    /** Pixels per side (the kind's default when absent). */
    size: z.number().int().min(16).max(1024).optional(),
    /** Slices per patient: a fixed number or [min, max] (the kind's default when absent). */
    slices: sliceCountSchema.optional(),
  })
  .strict();
export type ManifestDemoOptions = z.input<typeof manifestDemoOptionsSchema>;

export interface ManifestDemoSummary {
  dir: string;
  kind: string;
  patients: number;
  images: number;
  /** Patients per label value, by label column: e.g. `{ liver: { healthy: 70, low: 20, high: 10 } }`. */
  counts: Record<string, Record<string, number>>;
}

/** Every value each label column can take, in order, with a zero count. */
function emptyCounts(schema: LabelSchema): ManifestDemoSummary['counts'] {
  const zeros = (values: string[]) => Object.fromEntries(values.map((value) => [value, 0]));
  return Object.fromEntries(
    schema.groups.flatMap((group) => {
      if (group.kind === 'categorical') return [[group.name, zeros(group.classes)]];
      const values = group.kind === 'binary' ? ['0', '1'] : Array.from({ length: group.levels }, (_, grade) => String(grade));
      return group.classes.map((name) => [name, zeros(values)]);
    }),
  );
}

/** The seed a patient's labels and pixels derive from. */
export function patientSeed(kind: string, seed: number, patient: number): number {
  return hashSeed(seed, 'demo', kind, patient);
}

function patientId(patient: number, patients: number): string {
  return `P${String(patient + 1).padStart(Math.max(4, String(patients).length), '0')}`;
}

export interface ResolvedManifestDemoOptions {
  patients: number;
  seed: number;
  size: number;
  slices: [number, number];
}

/** Validates the options (errors name the field) and fills in the kind's defaults. */
export function resolveManifestDemoOptions<L>(kind: ManifestDemoKind<L>, options: ManifestDemoOptions): ResolvedManifestDemoOptions {
  const parsed = parseOrThrow(manifestDemoOptionsSchema, options, `${kind.name} demo options`);
  const slices = parsed.slices ?? kind.defaults.slices;
  return { ...parsed, size: parsed.size ?? kind.defaults.size, slices: typeof slices === 'number' ? [slices, slices] : slices };
}

/**
 * Writes a kind's dataset into `dir` (every file atomically). Deterministic in `seed`: each patient draws from
 * its own streams, so the same options give byte-identical files.
 */
export async function writeManifestDemo<L>(dir: string, kind: ManifestDemoKind<L>, options: ManifestDemoOptions, onPatient?: () => void): Promise<ManifestDemoSummary> {
  const resolved = resolveManifestDemoOptions(kind, options);
  const schema: LabelSchema = parseLabelSchema(kind.labels, `${kind.name} demo labels`);
  const columns = labelColumns(schema);
  const counts = emptyCounts(schema);
  const rows: string[] = [];
  const patients: Array<{ id: string; slices: number; labels: L }> = [];
  for (let p = 0; p < resolved.patients; p++) {
    const seed = patientSeed(kind.name, resolved.seed, p);
    const labels = kind.drawLabels(Rng.derive(seed, 'labels'));
    const cells = kind.cells(labels);
    parseTargetCells(schema, cells); // a generator bug must fail here, not as a silently wrong dataset
    const [min, max] = resolved.slices;
    const count = min + Rng.derive(seed, 'slice-count').int(max - min + 1);
    const id = patientId(p, resolved.patients);
    const slices = kind.render(labels, seed, { size: resolved.size, slices: count });
    for (const [k, raster] of slices.entries()) {
      const path = `${MANIFEST_IMAGES}/${id}/${k}.png`;
      writeFileAtomic(join(dir, path), await raster.png());
      rows.push([id, path, k, ...columns.map((column) => cells[column])].join(','));
    }
    for (const column of columns) counts[column][cells[column]] += 1;
    patients.push({ id, slices: count, labels });
    onPatient?.();
  }
  // Rows in random order: slice order must come from the `slice` column, as with real manifests.
  Rng.derive(resolved.seed, 'demo', kind.name, 'row-order').shuffle(rows);
  writeFileAtomic(join(dir, MANIFEST_CSV), `${['patient_id', 'path', 'slice', ...columns].join(',')}\n${rows.join('\n')}\n`);
  writeJsonAtomic(join(dir, MANIFEST_GROUND_TRUTH), {
    generator: `sliceseq demo-data --kind ${kind.name} (${kind.description})`,
    kind: kind.name,
    options: resolved,
    labels: schema,
    patients,
  });
  return { dir, kind: kind.name, patients: patients.length, images: rows.length, counts };
}
