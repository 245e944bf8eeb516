/**
 * What the data fingerprint (src/data/fingerprint.ts) costs on many files, beside two peers timed in the same run
 * on the same files: `stat` of every file (what the embeddings cache keyed on before: size and mtime) and a
 * SHA-256 of every whole file (what "hash the contents" costs without sampling); and the fingerprint again with the
 * digest record of an earlier one (`cacheDir`, nothing changed since).
 *
 *   npx tsx bench/fingerprint.ts [--files 100000] [--bytes 2048] [--rounds 3]     prints JSON
 *
 * The files are written first, so they are in the page cache: this measures the CPU and system-call cost (a cold
 * disk or a network mount adds its latency per file to all three, and per byte to the whole-file hash).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { dataFingerprint } from '../src/data/fingerprint.ts';
import { mapLimit } from '../src/data/map-limit.ts';
import type { Patient } from '../src/data/patients.ts';

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : fallback;
}

const files = Number(option('files', '100000'));
const bytes = Number(option('bytes', '2048'));
const rounds = Number(option('rounds', '3'));
const perPatient = 100;

const work = mkdtempSync(join(tmpdir(), 'sliceseq-bench-fingerprint-'));
try {
  const patients: Patient[] = [];
  const content = Buffer.alloc(bytes);
  for (let i = 0; i < files; i++) {
    const p = Math.floor(i / perPatient);
    if (i % perPatient === 0) {
      mkdirSync(join(work, `p${p}`));
      patients.push({ id: `p${p}`, slices: [] });
    }
    content.writeUInt32LE(i, bytes - 4);
    const path = join(work, `p${p}`, `s${i}.dcm`);
    writeFileSync(path, content);
    patients[p].slices.push({ path });
  }
  const paths = patients.flatMap((p) => p.slices.map((s) => s.path));
  const time = async (run: () => Promise<unknown>) => {
    const seconds: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const start = performance.now();
      await run();
      seconds.push((performance.now() - start) / 1000);
    }
    return Math.min(...seconds);
  };
  const fingerprint = await time(() => dataFingerprint([patients]));
  // With a digest record from an earlier fingerprint (nothing changed since): one stat per file.
  const cacheDir = join(work, 'digests');
  await dataFingerprint([patients], { cacheDir });
  const recorded = await time(() => dataFingerprint([patients], { cacheDir }));
  const statOnly = await time(() => mapLimit(paths, 32, (path) => stat(path)));
  const wholeHash = await time(() => mapLimit(paths, 32, async (path) => createHash('sha256').update(await readFile(path)).digest('hex')));
  console.log(
    JSON.stringify({
      date: new Date().toISOString(),
      cpu: `${cpus().length} × ${cpus()[0]?.model ?? '?'}`,
      files,
      bytes,
      seconds: { fingerprint, fingerprintRecorded: recorded, stat: statOnly, wholeFileSha256: wholeHash },
      filesPerSecond: Math.round(files / fingerprint),
      ratios: { fingerprintOverStat: fingerprint / statOnly, fingerprintOverWholeHash: fingerprint / wholeHash },
    }),
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
