import { mkdirSync, renameSync, writeFileSync, rmSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';

/**
 * Writes through a temporary file in the same directory and renames it into place, so a reader (or a run
 * killed mid-write) sees the old content or the new, never half of one.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    writeFileSync(temp, data);
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw namedWriteError(error, path);
  }
}

/**
 * A write error that names the file (Node's ENOSPC and EIO messages name only the system call): the path, what
 * went wrong, and that the file there is as it was. The error code stays on the error.
 */
function namedWriteError(error: unknown, path: string): unknown {
  const code = (error as NodeJS.ErrnoException)?.code;
  if (typeof code !== 'string') return error;
  const advice = code === 'ENOSPC' ? 'no space left on the device: free some space and run the command again' : code === 'EDQUOT' ? 'disk quota exceeded: free some space and run the command again' : (error as Error).message;
  const named = new Error(`cannot write ${path}: ${advice} (the file there, if any, is unchanged)`, { cause: error });
  return Object.assign(named, { code });
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}
