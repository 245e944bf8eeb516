import * as nifti from 'nifti-reader-js';
import { readFile } from 'node:fs/promises';
import type { Slice, SliceMeta } from '../types.ts';
import { DataFileError, describeThrown } from './errors.ts';

export type VolumeAxis = 0 | 1 | 2;

export interface NiftiReadOptions {
  /** The voxel axis (i, j or k) to slice along. */
  axis: VolumeAxis;
}

type VoxelReader = (view: DataView, index: number, littleEndian: boolean) => number;

const voxelReaders: Record<number, { bytes: number; read: VoxelReader; name: string }> = {
  [nifti.NIFTI1.TYPE_UINT8]: { bytes: 1, name: 'uint8', read: (v, i) => v.getUint8(i) },
  [nifti.NIFTI1.TYPE_INT8]: { bytes: 1, name: 'int8', read: (v, i) => v.getInt8(i) },
  [nifti.NIFTI1.TYPE_INT16]: { bytes: 2, name: 'int16', read: (v, i, le) => v.getInt16(i * 2, le) },
  [nifti.NIFTI1.TYPE_UINT16]: { bytes: 2, name: 'uint16', read: (v, i, le) => v.getUint16(i * 2, le) },
  [nifti.NIFTI1.TYPE_INT32]: { bytes: 4, name: 'int32', read: (v, i, le) => v.getInt32(i * 4, le) },
  [nifti.NIFTI1.TYPE_UINT32]: { bytes: 4, name: 'uint32', read: (v, i, le) => v.getUint32(i * 4, le) },
  [nifti.NIFTI1.TYPE_FLOAT32]: { bytes: 4, name: 'float32', read: (v, i, le) => v.getFloat32(i * 4, le) },
  [nifti.NIFTI1.TYPE_FLOAT64]: { bytes: 8, name: 'float64', read: (v, i, le) => v.getFloat64(i * 8, le) },
};

/** The two in-plane voxel axes of a slice taken along `axis`, in order: rows, then columns. */
const inPlaneAxes: Record<VolumeAxis, [number, number]> = { 0: [1, 2], 1: [0, 2], 2: [0, 1] };

/**
 * Reads a .nii or .nii.gz volume and cuts it into 2-D slices along `axis`. Slice s along axis a is the
 * array `volume.take(s, axis=a)`: its rows run along the lower remaining voxel axis, its columns along the
 * higher one (so along k, row r / column c is voxel (r, c, s)). scl_slope/scl_inter are applied. Positions and
 * orientations come from the header's affine, converted from NIfTI's RAS to DICOM's LPS, so slices sort the
 * same way DICOM slices do.
 */
export async function readNifti(path: string, options: NiftiReadOptions): Promise<Slice[]> {
  const { axis } = options;
  if (axis !== 0 && axis !== 1 && axis !== 2) throw new DataFileError(path, `NIfTI axis must be 0, 1 or 2, got ${String(axis)}`);
  const { header, image } = await loadVolume(path);
  const shape = [header.dims[1], header.dims[2] || 1, header.dims[3] || 1];
  const volumes = header.dims[0] > 3 ? header.dims.slice(4, header.dims[0] + 1).reduce((a, b) => a * (b || 1), 1) : 1;
  if (volumes > 1) throw new DataFileError(path, `NIfTI holds ${volumes} volumes (${header.dims[0]}-D); only 3-D volumes are supported`);
  const format = voxelReaders[header.datatypeCode];
  if (!format) throw new DataFileError(path, `NIfTI datatype code ${header.datatypeCode} is not supported (integers up to 32 bits, float32, float64)`);
  const voxels = shape[0] * shape[1] * shape[2];
  if (image.byteLength < voxels * format.bytes) {
    throw new DataFileError(path, `truncated NIfTI file (image holds ${image.byteLength} bytes, expected ${voxels * format.bytes})`);
  }

  const scaling = sclScaling(header);
  const values = scaledVoxels(image, voxels, format.read, header.littleEndian, scaling);
  const [rowAxis, colAxis] = inPlaneAxes[axis];
  const rows = shape[rowAxis];
  const cols = shape[colAxis];
  const strides = [1, shape[0], shape[0] * shape[1]];
  const affine = header.affine;
  const column = (voxelAxis: number) => [affine[0][voxelAxis], affine[1][voxelAxis], affine[2][voxelAxis]];
  const rowStep = column(rowAxis);
  const colStep = column(colAxis);
  const sliceStep = column(axis);
  const origin = [affine[0][3], affine[1][3], affine[2][3]];
  const common: Omit<SliceMeta, 'source' | 'imagePosition'> = {
    format: 'nifti',
    imageOrientation: [...rasToLps(unit(colStep)), ...rasToLps(unit(rowStep))] as SliceMeta['imageOrientation'],
    pixelSpacing: [norm(rowStep), norm(colStep)],
    rescaleSlope: scaling.slope,
    rescaleIntercept: scaling.intercept,
  };

  const slices: Slice[] = [];
  for (let index = 0; index < shape[axis]; index++) {
    const data = new Float32Array(rows * cols);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        data[r * cols + c] = values[index * strides[axis] + r * strides[rowAxis] + c * strides[colAxis]];
      }
    }
    const position = origin.map((o, d) => o + index * sliceStep[d]);
    slices.push({
      rows,
      cols,
      channels: 1,
      data,
      meta: { ...common, source: `${path}#axis${axis}:${index}`, imagePosition: rasToLps(position) as SliceMeta['imagePosition'] },
    });
  }
  return slices;
}

async function loadVolume(path: string): Promise<{ header: nifti.NIFTI1 | nifti.NIFTI2; image: ArrayBuffer }> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new DataFileError(path, `cannot read file (${describeThrown(error)})`, { cause: error });
  }
  try {
    let buffer: ArrayBuffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer;
    if (nifti.isCompressed(buffer)) buffer = nifti.decompress(buffer) as ArrayBuffer;
    if (!nifti.isNIFTI(buffer)) throw new Error('no NIfTI-1/NIfTI-2 header');
    const header = nifti.readHeader(buffer);
    return { header, image: nifti.readImage(header, buffer) };
  } catch (error) {
    throw new DataFileError(path, `not a readable NIfTI file (${describeThrown(error)})`, { cause: error });
  }
}

/** A zero (or non-finite) scl_slope means "no scaling", per the NIfTI standard. */
function sclScaling(header: nifti.NIFTI1 | nifti.NIFTI2): { slope: number; intercept: number } {
  const scaled = header.scl_slope !== 0 && Number.isFinite(header.scl_slope);
  return {
    slope: scaled ? header.scl_slope : 1,
    intercept: scaled && Number.isFinite(header.scl_inter) ? header.scl_inter : 0,
  };
}

function scaledVoxels(
  image: ArrayBuffer,
  count: number,
  read: VoxelReader,
  littleEndian: boolean,
  { slope, intercept }: { slope: number; intercept: number },
): Float32Array {
  const view = new DataView(image);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = read(view, i, littleEndian) * slope + intercept;
  return out;
}

function norm(v: number[]): number {
  return Math.hypot(v[0], v[1], v[2]);
}

function unit(v: number[]): number[] {
  const length = norm(v) || 1;
  return v.map((x) => x / length);
}

function rasToLps([x, y, z]: number[]): number[] {
  return [-x || 0, -y || 0, z];
}
