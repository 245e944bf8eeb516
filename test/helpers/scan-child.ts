/**
 * A header scan in its own process, for test/data/scan-index.test.ts to interrupt: scans the `*.meta` files of
 * a folder (each holds its header fields as JSON; reading one takes `delayMs`), with the index in `indexDir`,
 * checkpointing every `checkpointEvery` files. Prints `scanned <read> <fromIndex>` when it finishes.
 *
 *   node --import tsx test/helpers/scan-child.ts <folder> <indexDir> <checkpointEvery> <delayMs>
 */
import { readFile } from 'node:fs/promises';
import { listFiles, scanHeaders } from '../../src/data/datasets/scan.ts';

const [folder, indexDir, checkpointEvery, delayMs] = process.argv.slice(2);

export async function readTestMeta(path: string, delay = 0) {
  if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
  return [{ source: path, format: 'dicom' as const, ...JSON.parse(await readFile(path, 'utf8')) }];
}

if (folder) {
  const entries = await listFiles(folder, ['*.meta']);
  const scan = await scanHeaders(entries, {
    readMeta: (path) => readTestMeta(path, Number(delayMs)),
    cacheDir: indexDir,
    scope: folder,
    concurrency: 4,
    checkpointEvery: Number(checkpointEvery),
  });
  process.stdout.write(`scanned ${scan.read} ${scan.fromIndex}\n`);
}
