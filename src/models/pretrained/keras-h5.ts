import { unzipSync } from 'fflate';
import { Dataset, File, Group } from 'jsfive';
import { readFileSync } from 'node:fs';
import { naturalCompare, type SourceLayer, type SourceTensor, type WeightFile } from './source.ts';

/**
 * Keras weight files, read with jsfive (pure JavaScript, synchronous, so a backbone can load them while it is
 * built). Two HDF5 layouts:
 * - legacy (Keras 2 and `model.save('x.h5')`, the applications' `*_notop.h5`): `layer_names` on the root or on
 *   `model_weights`, and per layer group its `weight_names` in the layer's weight order;
 * - Keras 3 (`x.weights.h5`, and `model.weights.h5` inside a `.keras` zip archive): `layers/<path>/vars/<i>`, the
 *   layer's name in the `vars` group's `name` attribute.
 */
/** Every HDF5 file starts with these 8 bytes (at offset 0 for the files Keras writes). */
const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

function openHdf5(bytes: Uint8Array, path: string): File {
  if (!HDF5_SIGNATURE.every((byte, i) => bytes[i] === byte)) {
    const head = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new Error(`${path}: not an HDF5 file: it does not start with the HDF5 signature (89 48 44 46 0d 0a 1a 0a), but with ${head || 'nothing (empty file)'}; Keras .h5 and .weights.h5 files do`);
  }
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  try {
    return new File(buffer, path);
  } catch (error) {
    throw new Error(`${path}: a damaged HDF5 file (${error instanceof Error ? error.message : String(error)})`);
  }
}

function strings(value: unknown): string[] {
  if (value == null) return [];
  const list = typeof value === 'string' ? [value] : Array.from(value as ArrayLike<unknown>);
  return list.map((item) => (item instanceof Uint8Array ? new TextDecoder().decode(item) : String(item)).replace(/\0+$/, ''));
}

function tensor(dataset: Dataset, name: string, key: string): SourceTensor {
  return { name, key, shape: [...dataset.shape], read: () => Float32Array.from(dataset.value) };
}

function child(group: Group, name: string): Group | Dataset | null {
  return group.keys.includes(name.split('/')[0]) ? group.get(name) : null;
}

/**
 * A layer group's weights, split by the layer their names give (`block1_conv1/kernel:0` → `block1_conv1`): a
 * nested model (VGG16 inside a Sequential) is one group holding all its layers' weights. Names without a layer
 * part (Keras 1's `block1_conv1_W_1:0`) belong to the group's own layer.
 */
function legacyLayers(root: Group, path: string): SourceLayer[] {
  const layers = new Map<string, SourceLayer>();
  for (const groupName of strings(root.attrs.layer_names)) {
    const group = child(root, groupName);
    if (!(group instanceof Group)) throw new Error(`${path}: layer_names lists '${groupName}', which has no group`);
    for (const weightName of strings(group.attrs.weight_names)) {
      const dataset = group.get(weightName);
      if (!(dataset instanceof Dataset)) throw new Error(`${path}: layer '${groupName}' lists weight '${weightName}', which is missing`);
      const parts = weightName.replace(/:\d+$/, '').split('/');
      const layerName = parts.length > 1 ? parts[parts.length - 2] : groupName;
      const layer = layers.get(layerName) ?? { name: layerName, tensors: [] };
      layer.tensors.push(tensor(dataset, `${layerName}/${parts[parts.length - 1]}`, parts[parts.length - 1]));
      layers.set(layerName, layer);
    }
  }
  return [...layers.values()];
}

/** Every `.../vars` group holding datasets, depth first; `order` (the archive's config) ranks the layer names. */
function keras3Layers(root: Group, order: string[]): SourceLayer[] {
  const found: Array<SourceLayer & { path: string }> = [];
  const visit = (group: Group, path: string) => {
    for (const key of group.keys) {
      const item = group.get(key);
      if (!(item instanceof Group)) continue;
      if (key === 'vars') {
        const indices = item.keys.filter((k) => item.get(k) instanceof Dataset).sort(naturalCompare);
        if (indices.length === 0) continue;
        const name = strings(item.attrs.name)[0] ?? path;
        found.push({ name, path, tensors: indices.map((i) => tensor(item.get(i) as Dataset, `${name}/vars/${i}`, i)) });
      } else {
        visit(item, path ? `${path}/${key}` : key);
      }
    }
  };
  visit(root, '');
  const rank = (layer: { name: string }) => {
    const index = order.indexOf(layer.name);
    return index < 0 ? order.length : index;
  };
  return found.sort((a, b) => rank(a) - rank(b) || naturalCompare(a.path, b.path)).map(({ name, tensors }) => ({ name, tensors }));
}

function layersOf(file: File, path: string, order: string[]): SourceLayer[] {
  const modelWeights = child(file, 'model_weights');
  if (file.attrs.layer_names !== undefined) return legacyLayers(file, path);
  if (modelWeights instanceof Group && modelWeights.attrs.layer_names !== undefined) return legacyLayers(modelWeights, path);
  const layers = child(file, 'layers');
  if (layers instanceof Group) return keras3Layers(layers, order);
  throw new Error(`${path}: an HDF5 file without Keras weights (no layer_names attribute, model_weights or layers group)`);
}

export function readKerasH5(path: string): WeightFile {
  return { path, format: 'keras-h5', layout: 'keras', layers: layersOf(openHdf5(readFileSync(path), path), path, []) };
}

/** Layer names in the order the archive's config.json lists them (nested functional models flattened). */
function configOrder(config: unknown): string[] {
  const names: string[] = [];
  const visit = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node && typeof node === 'object') {
      const record = node as Record<string, unknown>;
      const inner = record.config as Record<string, unknown> | undefined;
      if (typeof record.class_name === 'string' && inner && typeof inner.name === 'string') names.push(inner.name);
      Object.values(record).forEach(visit);
    }
  };
  visit(config);
  return names;
}

/** A Keras 3 `.keras` archive: a zip of config.json, metadata.json and model.weights.h5. */
export function readKerasArchive(path: string): WeightFile {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(readFileSync(path), { filter: (entry) => entry.name === 'model.weights.h5' || entry.name === 'config.json' });
  } catch (error) {
    throw new Error(`${path}: not a .keras archive (not a zip file: ${(error as Error).message})`);
  }
  const weights = entries['model.weights.h5'];
  if (!weights) throw new Error(`${path}: not a .keras archive (no model.weights.h5 inside)`);
  const order = entries['config.json'] ? configOrder(JSON.parse(new TextDecoder().decode(entries['config.json']))) : [];
  return { path, format: 'keras', layout: 'keras', layers: layersOf(openHdf5(weights, path), path, order) };
}
