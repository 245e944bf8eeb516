/**
 * Reads an RSNA labels CSV as the rsna-ich dataset does (parseRsnaLabels: compact columns), for bench/scale.ts in
 * its own process so its peak RSS is its own. Prints JSON: seconds, images, rows.
 *
 *   npx tsx bench/scale-labels.ts <stage_2_train.csv>
 */
import { readBytes } from '../src/data/datasets/csv.ts';
import { parseRsnaLabels } from '../src/data/datasets/rsna-ich.ts';
import { BadInput } from '../src/data/datasets/types.ts';

const [file] = process.argv.slice(2);
const start = performance.now();
const labels = parseRsnaLabels(await readBytes(file), file, new BadInput('error', 'bench'));
process.stdout.write(`${JSON.stringify({ seconds: (performance.now() - start) / 1000, images: labels.rows.size })}\n`);
