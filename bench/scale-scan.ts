/**
 * One header scan of a folder's *.dcm files with the index in `indexDir`, for bench/scale.ts (run in its own
 * process so its peak RSS is its own). Prints JSON: seconds (listing and scan), files, read (not from the index).
 *
 *   npx tsx bench/scale-scan.ts <folder> <indexDir>
 */
import { listFiles, scanHeaders } from '../src/data/datasets/scan.ts';
import { readDicomMeta } from '../src/data/readers/dicom.ts';
import { setLogLevel } from '../src/core/log.ts';

const [folder, indexDir] = process.argv.slice(2);
setLogLevel('warn');
const start = performance.now();
const entries = await listFiles(folder, ['*.dcm']);
const scan = await scanHeaders(entries, { readMeta: async (path) => [await readDicomMeta(path)], cacheDir: indexDir, scope: folder });
const bad = scan.files.filter((file) => file.error).length;
if (bad > 0) throw new Error(`${bad} unreadable files in ${folder}`);
process.stdout.write(`${JSON.stringify({ seconds: (performance.now() - start) / 1000, files: entries.length, read: scan.read })}\n`);
