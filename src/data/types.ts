/** What the readers give the rest of the pipeline: one decoded 2-D slice with the metadata that orders it. */
export interface SliceMeta {
  /** The file it came from (and, for volumes, `path#axis:index`). */
  source: string;
  format: 'dicom' | 'image' | 'nifti';
  /** DICOM Modality (CT, MR, CR, …): only CT values are Hounsfield units. */
  modality?: string;
  studyInstanceUid?: string;
  seriesInstanceUid?: string;
  sopInstanceUid?: string;
  instanceNumber?: number;
  /** ImagePositionPatient (mm). */
  imagePosition?: [number, number, number];
  /** ImageOrientationPatient: row direction cosines then column direction cosines. */
  imageOrientation?: [number, number, number, number, number, number];
  /** PixelSpacing: [row spacing, column spacing] (mm). */
  pixelSpacing?: [number, number];
  rescaleSlope?: number;
  rescaleIntercept?: number;
  /** The file's own windows (DICOM allows several). */
  windowCenter?: number[];
  windowWidth?: number[];
  transferSyntaxUid?: string;
  photometricInterpretation?: string;
  bitsStored?: number;
  pixelRepresentation?: number;
}

/** A decoded slice: values are Hounsfield units for CT, raw intensities for other images. Row-major, channels last. */
export interface Slice {
  rows: number;
  cols: number;
  channels: number;
  data: Float32Array;
  meta: SliceMeta;
}
