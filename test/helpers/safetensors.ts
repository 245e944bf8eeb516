import type * as tfType from '@tensorflow/tfjs';
import { writeFileSync } from 'node:fs';
import { torchvisionResnetName } from '../../src/models/backbones/resnet18.ts';

/** A safetensors file's bytes: the 8-byte little-endian header length, the JSON header, the raw data. */
export function safetensorsBytes(header: Record<string, unknown>, data: Uint8Array): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([length, json, data]);
}

/** Writes float32 tensors as a safetensors file. */
export function writeSafetensors(path: string, tensors: Record<string, { shape: number[]; data: Float32Array }>): void {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, { shape, data }] of Object.entries(tensors)) {
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
  }
  const parts = Object.values(tensors).map(({ data }) => new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  writeFileSync(path, safetensorsBytes(header, Buffer.concat(parts)));
}

/**
 * A backbone's weights as a PyTorch state dict would hold them: kernels [out, in, h, w], batch norms as
 * weight/bias/running_mean/running_var, module names from `moduleName` (torchvision's for resnet18 by default).
 */
export function asTorchStateDict(
  tf: typeof tfType,
  model: tfType.LayersModel,
  moduleName: (layer: string, index: number) => string = torchvisionResnetName,
): Record<string, { shape: number[]; data: Float32Array }> {
  const state: Record<string, { shape: number[]; data: Float32Array }> = {};
  const keys = { Conv2D: ['weight', 'bias'], BatchNormalization: ['weight', 'bias', 'running_mean', 'running_var'] } as Record<string, string[]>;
  model.layers
    .filter((layer) => layer.getWeights().length > 0)
    .forEach((layer, index) => {
      layer.getWeights().forEach((weight, i) => {
        const value = weight.rank === 4 ? tf.transpose(weight, [3, 2, 0, 1]) : weight.clone();
        state[`${moduleName(layer.name, index)}.${keys[layer.getClassName()][i]}`] = { shape: value.shape, data: value.dataSync() as Float32Array };
        value.dispose();
      });
    });
  return state;
}
