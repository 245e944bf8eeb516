import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ExperimentInput } from './config.ts';

/**
 * The default export of a module file (`.ts`, `.mts` or `.js`, in any folder: bin/module-hooks.js lets the
 * command load it as an ES module that may `import { defineExperiment } from 'sliceseq'`).
 */
export async function importDefault(path: string, what: string, expected: string): Promise<object> {
  const absolute = resolve(path);
  if (!existsSync(absolute)) throw new Error(`${what} file not found: ${path}`);
  const module = (await import(pathToFileURL(absolute).href)) as { default?: unknown };
  if (!module.default || typeof module.default !== 'object') throw new Error(`${path}: expected \`export default ${expected}\``);
  return module.default;
}

/** Imports an experiment file (a module whose default export is the experiment). */
export async function loadExperimentFile(path: string): Promise<ExperimentInput> {
  return (await importDefault(path, 'experiment', 'defineExperiment({...})')) as ExperimentInput;
}
