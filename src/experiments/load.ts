import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ExperimentInput } from './config.ts';

/** Imports an experiment file (a TypeScript module whose default export is the experiment). */
export async function loadExperimentFile(path: string): Promise<ExperimentInput> {
  const absolute = resolve(path);
  if (!existsSync(absolute)) throw new Error(`experiment file not found: ${path}`);
  const module = (await import(pathToFileURL(absolute).href)) as { default?: unknown };
  if (!module.default || typeof module.default !== 'object') {
    throw new Error(`${path}: expected \`export default defineExperiment({...})\``);
  }
  return module.default as ExperimentInput;
}
