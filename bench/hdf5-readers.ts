/**
 * Why sliceseq reads Keras .h5 files with jsfive: the two maintained HDF5 readers for JavaScript timed on the
 * same file, each opening it and decoding every dataset (a VGG16 notop file holds 58 MB of float32).
 *
 *   npx tsx bench/hdf5-readers.ts FILE.h5 [--repeats 3]
 *
 * jsfive is pure JavaScript and synchronous (a backbone loads its weights while it is built, which is
 * synchronous); h5wasm is the HDF5 C library compiled to WebAssembly, whose module initialises asynchronously.
 * Prints the first (cold) and the median of the later (warm) times per reader.
 */
import { Dataset, File, Group } from 'jsfive';
import { readFileSync } from 'node:fs';

const file = process.argv[2];
if (!file) throw new Error('usage: npx tsx bench/hdf5-readers.ts FILE.h5 [--repeats 3]');
const at = process.argv.indexOf('--repeats');
const repeats = at >= 0 ? Number(process.argv[at + 1]) : 3;

function jsfiveRead(): number {
  const bytes = readFileSync(file);
  const root = new File(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer, file);
  let values = 0;
  const visit = (group: Group) => {
    for (const key of group.keys) {
      const item = group.get(key);
      if (item instanceof Group) visit(item);
      else if (item instanceof Dataset) values += Float32Array.from(item.value).length;
    }
  };
  visit(root);
  return values;
}

interface H5Node {
  keys(): string[];
  get(path: string): H5Node & { value?: ArrayLike<number>; type?: string };
  type?: string;
}

async function h5wasmRead(): Promise<number> {
  const h5wasm = (await import('h5wasm/node')).default as unknown as { ready: Promise<unknown>; File: new (path: string, mode: string) => H5Node & { close(): void } };
  await h5wasm.ready;
  const root = new h5wasm.File(file, 'r');
  let values = 0;
  const visit = (group: H5Node) => {
    for (const key of group.keys()) {
      const item = group.get(key);
      if (item.type === 'Group') visit(item);
      else if (item.type === 'Dataset') values += (item.value as ArrayLike<number>).length;
    }
  };
  visit(root);
  root.close();
  return values;
}

async function time(name: string, read: () => number | Promise<number>): Promise<void> {
  const times: number[] = [];
  let values = 0;
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    values = await read();
    times.push(performance.now() - start);
  }
  const warm = times.slice(1).sort((a, b) => a - b);
  const median = warm.length ? warm[Math.floor(warm.length / 2)] : Number.NaN;
  process.stdout.write(`${name}: ${values} values, cold ${times[0].toFixed(0)} ms, warm median ${median.toFixed(0)} ms (${repeats} reads)\n`);
}

await time('jsfive', jsfiveRead);
await time('h5wasm', h5wasmRead);
