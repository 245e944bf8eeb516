/**
 * What every weight-file reader returns: the file's layers in the file's order, each with its tensors read on
 * demand (inspecting a 500 MB file lists shapes without decoding it).
 */
export const weightFormats = ['tfjs', 'keras-h5', 'keras', 'safetensors'] as const;
export type WeightFormat = (typeof weightFormats)[number];

/**
 * How the file names and lays out tensors: `keras` (kernels [h, w, in, out], a layer's weights in Keras order,
 * as tfjs also keeps them) or `torch` (module paths `layer1.0.conv1.weight`, kernels [out, in, h, w]).
 */
export type WeightLayout = 'keras' | 'torch';

export interface SourceTensor {
  /** The full name in the file, as messages show it (`block1_conv1/kernel`, `layer1.0.bn1.running_var`). */
  name: string;
  /** Its last part (`kernel`, `running_var`; Keras 3 files number them: `0`, `1`). */
  key: string;
  shape: number[];
  read(): Float32Array;
}

export interface SourceLayer {
  name: string;
  tensors: SourceTensor[];
}

export interface WeightFile {
  path: string;
  format: WeightFormat;
  layout: WeightLayout;
  layers: SourceLayer[];
  /** The input normalisation the file records (tfjs folders written by `sliceseq weights convert`). */
  normalization?: string;
}

/** Natural order of dotted/underscored names: `layer1.2` before `layer1.10`, `conv2d` before `conv2d_1`. */
export function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

export function describeShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
