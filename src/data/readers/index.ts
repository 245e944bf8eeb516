import { open } from 'node:fs/promises';
import { extname } from 'node:path';
import sharp from 'sharp';
import type { Slice, SliceMeta } from '../types.ts';
import { hasDicomMagic, readDicomMetas, readDicomSlices, type DicomReadOptions } from './dicom.ts';
import { DataFileError, describeThrown } from './errors.ts';
import { readImage } from './image.ts';
import { readNifti, type VolumeAxis } from './nifti.ts';

export { readDicom, readDicomMeta, readDicomMetas, readDicomSlices, readDicomHeader, hasDicomMagic, type DicomReadOptions, type DicomHeader, type MissingRescale } from './dicom.ts';
export { readImage } from './image.ts';
export { readNifti, type NiftiReadOptions, type VolumeAxis } from './nifti.ts';
export { DataFileError } from './errors.ts';

export type SliceFileKind = 'dicom' | 'image' | 'nifti';

export interface ReadOptions extends DicomReadOptions {
  /** NIfTI only: the voxel axis to slice along (default 2, i.e. k: axial for most CT volumes). */
  axis?: VolumeAxis;
}

const kindByExtension: Record<string, SliceFileKind> = {
  '.dcm': 'dicom',
  '.dicom': 'dicom',
  '.png': 'image',
  '.jpg': 'image',
  '.jpeg': 'image',
  '.tif': 'image',
  '.tiff': 'image',
  '.nii': 'nifti',
};

/**
 * Which reader a file needs: by extension (.dcm/.dicom, .png/.jpg/.jpeg/.tif/.tiff, .nii/.nii.gz), and for
 * files without a known extension (archives often name DICOM files by UID) by the DICM magic.
 */
export async function detectKind(path: string): Promise<SliceFileKind> {
  const lower = path.toLowerCase();
  if (lower.endsWith('.nii.gz')) return 'nifti';
  const extension = extname(lower);
  const kind = kindByExtension[extension];
  if (kind) return kind;
  if (extension === '' || /^\.\d+$/.test(extension)) return 'dicom';
  if (await startsWithDicomMagic(path)) return 'dicom';
  throw new DataFileError(
    path,
    `unsupported file type '${extension}' (expected DICOM, .png/.jpg/.jpeg/.tif/.tiff or .nii/.nii.gz)`,
  );
}

async function startsWithDicomMagic(path: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, 'r');
    const head = Buffer.alloc(132);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return hasDicomMagic(head.subarray(0, bytesRead));
  } catch (error) {
    throw new DataFileError(path, `cannot read file (${describeThrown(error)})`, { cause: error });
  } finally {
    await handle?.close();
  }
}

/** Reads any supported file into slices: one per frame for DICOM, one for 2-D images, one per index along `axis` for NIfTI. */
export async function readSlices(path: string, options: ReadOptions = {}): Promise<Slice[]> {
  switch (await detectKind(path)) {
    case 'dicom':
      return readDicomSlices(path, dicomOptions(options));
    case 'image':
      return [await readImage(path)];
    case 'nifti':
      return readNifti(path, { axis: options.axis ?? 2 });
  }
}

/**
 * The metadata `readSlices` would return, one entry per slice. DICOM reads only the header; images only
 * their header; NIfTI decodes the volume (its slice count and positions need the whole header and image).
 */
export async function readMeta(path: string, options: ReadOptions = {}): Promise<SliceMeta[]> {
  switch (await detectKind(path)) {
    case 'dicom':
      return readDicomMetas(path, dicomOptions(options));
    case 'image':
      try {
        await sharp(path).metadata();
      } catch (error) {
        throw new DataFileError(path, `cannot decode image (${describeThrown(error)})`, { cause: error });
      }
      return [{ source: path, format: 'image' }];
    case 'nifti':
      return (await readNifti(path, { axis: options.axis ?? 2 })).map((slice) => slice.meta);
  }
}

function dicomOptions(options: ReadOptions): DicomReadOptions {
  return {
    ...(options.rsnaInterceptFix === undefined ? {} : { rsnaInterceptFix: options.rsnaInterceptFix }),
    ...(options.missingRescale === undefined ? {} : { missingRescale: options.missingRescale }),
  };
}
