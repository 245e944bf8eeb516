import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { openWeights } from '../../src/models/pretrained/open.ts';
import { readSafetensors } from '../../src/models/pretrained/safetensors.ts';
import { safetensorsBytes } from '../helpers/safetensors.ts';
import { withTempDir } from './model-checks.ts';

describe('weight files', () => {
  test('safetensors: F16, BF16 and F32 decode; tensors group into PyTorch modules in natural order', async () => {
    await withTempDir(async (dir) => {
      const f16 = new Uint16Array([0x3c00, 0xc000, 0x3800, 0x0001]); // 1, -2, 0.5, the smallest subnormal
      const bf16 = new Uint16Array([0x3f80, 0xc040]); // 1, -3
      const f32 = new Float32Array([0.25]);
      const data = new Uint8Array([...new Uint8Array(f16.buffer), ...new Uint8Array(bf16.buffer), ...new Uint8Array(f32.buffer)]);
      const header = {
        __metadata__: { format: 'pt' },
        'layer1.10.bn.weight': { dtype: 'F16', shape: [2, 2], data_offsets: [0, 8] },
        'layer1.2.bn.weight': { dtype: 'BF16', shape: [2], data_offsets: [8, 12] },
        'fc.bias': { dtype: 'F32', shape: [1], data_offsets: [12, 16] },
      };
      const path = join(dir, 'm.safetensors');
      writeFileSync(path, safetensorsBytes(header, data));
      const file = readSafetensors(path);
      expect(file.layers.map((layer) => layer.name)).toEqual(['fc', 'layer1.2.bn', 'layer1.10.bn']);
      const values = (name: string) => Array.from(file.layers.find((layer) => layer.name === name)!.tensors[0].read());
      expect(values('layer1.10.bn')).toEqual([1, -2, 0.5, 2 ** -24]);
      expect(values('layer1.2.bn')).toEqual([1, -3]);
      expect(values('fc')).toEqual([0.25]);
      expect(file.layers[2].tensors[0]).toMatchObject({ name: 'layer1.10.bn.weight', key: 'weight', shape: [2, 2] });
    });
  });

  test('damaged and unknown files fail naming the file and what is wrong', async () => {
    await withTempDir(async (dir) => {
      const at = (name: string, content: string | Uint8Array) => {
        writeFileSync(join(dir, name), content);
        return join(dir, name);
      };
      expect(() => openWeights(at('short.safetensors', safetensorsBytes({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, new Uint8Array(8))))).toThrow(
        /short.safetensors: tensor 'w': data_offsets \[0, 16\] do not hold shape \[4\] of F32 in a \d+-byte file/,
      );
      expect(() => openWeights(at('text.safetensors', 'hello'))).toThrow(/text.safetensors: not a safetensors file/);
      expect(() => openWeights(at('text.h5', 'not hdf5 at all'))).toThrow(/text.h5: not an HDF5 file/);
      expect(() => openWeights(at('text.keras', 'not a zip'))).toThrow(/text.keras: not a .keras archive/);
      expect(() => openWeights(at('model.pth', 'x'))).toThrow(/model.pth: PyTorch pickles \(\.pth\) are not read/);
      expect(() => openWeights(at('model.npz', 'x'))).toThrow(/model.npz: unknown weights format \(extension '.npz'\); name it: \{ path, format: 'tfjs' \| 'keras-h5' \| 'keras' \| 'safetensors' \}/);
      expect(() => openWeights({ path: at('named.bin', 'not hdf5'), format: 'keras-h5' })).toThrow(/named.bin: not an HDF5 file/);
    });
  });
});
