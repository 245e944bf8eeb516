import { existsSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import { z } from 'zod';
import { readKerasArchive, readKerasH5 } from './keras-h5.ts';
import { readSafetensors } from './safetensors.ts';
import { weightFormats, type WeightFile, type WeightFormat } from './source.ts';
import { readTfjsFolder } from './tfjs-folder.ts';

/** `weights: 'path'` or `{ path, format }` (the format is otherwise told by the file's extension or a folder). */
export const weightsOptionSchema = z.union([
  z.string().min(1),
  z.object({ path: z.string().min(1), format: z.enum(weightFormats).optional() }).strict(),
]);
export type WeightsOption = z.output<typeof weightsOptionSchema>;

const byExtension: Record<string, WeightFormat> = { '.h5': 'keras-h5', '.hdf5': 'keras-h5', '.keras': 'keras', '.safetensors': 'safetensors' };

const readers: Record<WeightFormat, (path: string) => WeightFile> = {
  tfjs: readTfjsFolder,
  'keras-h5': readKerasH5,
  keras: readKerasArchive,
  safetensors: readSafetensors,
};

export function weightsPath(option: WeightsOption): string {
  return typeof option === 'string' ? option : option.path;
}

/** The format a weights option names or implies; a clear error for files sliceseq cannot read. */
export function weightFormatOf(option: WeightsOption): WeightFormat {
  const path = weightsPath(option);
  if (typeof option === 'object' && option.format) return option.format;
  if (!existsSync(path)) throw new Error(`weights ${path} do not exist (a Keras .h5/.keras file, a .safetensors file or a tfjs model folder)`);
  if (statSync(path).isDirectory()) return 'tfjs';
  const extension = extname(path).toLowerCase();
  if (byExtension[extension]) return byExtension[extension];
  if (['.pth', '.pt', '.bin', '.ckpt'].includes(extension)) {
    throw new Error(
      `${path}: PyTorch pickles (${extension}) are not read (unpickling runs code); save the state dict as safetensors: ` +
        `python3 -c "import torch; from safetensors.torch import save_file; save_file(torch.load('${path}', map_location='cpu'), 'model.safetensors')"`,
    );
  }
  throw new Error(`${path}: unknown weights format (extension '${extension}'); name it: { path, format: ${weightFormats.map((f) => `'${f}'`).join(' | ')} }`);
}

/** Opens a weight file or tfjs folder; tensors are read when a mapping asks for them. */
export function openWeights(option: WeightsOption): WeightFile {
  const format = weightFormatOf(option);
  const path = weightsPath(option);
  if (!existsSync(path)) throw new Error(`weights ${path} do not exist`);
  return readers[format](path);
}
