import type { DenseOrdinalGroup } from '../labels/dense-ordinal.ts';
import type { MaskRef } from './patients.ts';
import type { Slice } from './types.ts';

/**
 * Reading a slice's dense label maps: the mask files of each slice become one Slice with a channel per type,
 * checked against the image it labels. A bad mask (another size than its image, the wrong channel count, a value
 * that is neither an integer grade 0..levels-1 nor the ignore value) is an error naming the file and the pixel.
 */
export type MaskFileReader = (path: string) => Promise<Slice[]>;

/** Reads every file once (a volume serves all its frames). */
function cachedReader(read: MaskFileReader): MaskFileReader {
  const files = new Map<string, Promise<Slice[]>>();
  return (path) => {
    let slices = files.get(path);
    if (!slices) files.set(path, (slices = read(path)));
    return slices;
  };
}

/** Fails naming `file` unless every value is an integer grade or the ignore value. */
export function checkMaskValues(data: Float32Array, cols: number, channels: number, group: DenseOrdinalGroup, file: string): void {
  for (let i = 0; i < data.length; i++) {
    const value = data[i];
    if (value === group.ignoreValue) continue;
    if (!Number.isInteger(value) || value < 0 || value >= group.levels) {
      const pixel = Math.floor(i / channels);
      throw new Error(
        `mask ${file}: value ${value} at row ${Math.floor(pixel / cols)}, column ${pixel % cols}${channels > 1 ? `, channel ${i % channels}` : ''} ` +
          `is not an integer grade 0..${group.levels - 1} (or the ignore value ${group.ignoreValue})`,
      );
    }
  }
}

/** One slice's maps as [rows, cols, types], from one file per type or one file with a channel per type. */
async function readMaskRef(ref: MaskRef, image: Slice, group: DenseOrdinalGroup, read: MaskFileReader): Promise<Slice> {
  const types = group.classes.length;
  const parts = await Promise.all(
    ref.paths.map(async (path) => {
      const slices = await read(path);
      const slice = slices[ref.frame ?? 0];
      if (!slice) throw new Error(`mask ${path}: has no frame ${ref.frame ?? 0} (it has ${slices.length})`);
      if (ref.frame === undefined && slices.length !== 1) throw new Error(`mask ${path}: holds ${slices.length} slices, its image ${image.meta.source} one`);
      const wanted = ref.paths.length === 1 ? types : 1;
      if (slice.channels !== wanted) throw new Error(`mask ${path}: has ${slice.channels} channel(s), expected ${wanted} (${ref.paths.length === 1 ? 'one per type' : 'one type per file'})`);
      if (slice.rows !== image.rows || slice.cols !== image.cols) {
        throw new Error(`mask ${path}: is ${slice.rows}×${slice.cols}, its image ${image.meta.source} ${image.rows}×${image.cols}`);
      }
      checkMaskValues(slice.data, slice.cols, slice.channels, group, path);
      return slice;
    }),
  );
  if (parts.length === 1) return { ...parts[0], meta: { ...parts[0].meta, source: ref.paths[0] } };
  const data = new Float32Array(image.rows * image.cols * types);
  parts.forEach((part, t) => {
    for (let p = 0; p < image.rows * image.cols; p++) data[p * types + t] = part.data[p];
  });
  return { rows: image.rows, cols: image.cols, channels: types, data, meta: { ...parts[0].meta, source: ref.paths.join(' + ') } };
}

/** The maps of a patient's slices (as read, before preprocessing), checked against `images`. */
export async function readPatientMasks(refs: readonly MaskRef[], images: readonly Slice[], group: DenseOrdinalGroup, read: MaskFileReader): Promise<Slice[]> {
  if (refs.length !== images.length) throw new Error(`internal: ${refs.length} mask refs for ${images.length} slices`);
  const cached = cachedReader(read);
  return Promise.all(refs.map((ref, k) => readMaskRef(ref, images[k], group, cached)));
}
