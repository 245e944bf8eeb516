import { existsSync, readFileSync } from 'node:fs';
import type { z } from 'zod';
import { parseOrThrow } from './validate.ts';

/**
 * Reading JSON files, in one place: every reader in sliceseq goes through here, so a missing file, a file that
 * is not JSON and a file of the wrong shape each give one kind of error, naming the file (and the line, for JSON
 * lines files; the field, for files checked against a schema).
 */
export type JsonObject = Record<string, unknown>;

/** `file` parsed as JSON; an unreadable or malformed file is an error naming it. */
export function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`cannot read ${file}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${file}: invalid JSON: ${(error as Error).message}`);
  }
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `file` parsed and checked against `schema`; a bad field is an error naming the file and the field. */
export function readJsonFile<S extends z.ZodType>(schema: S, file: string): z.output<S> {
  return parseOrThrow(schema, readJson(file), file);
}

/** `readJsonFile`, or undefined when the file does not exist. */
export function readJsonFileIfExists<S extends z.ZodType>(schema: S, file: string): z.output<S> | undefined {
  return existsSync(file) ? readJsonFile(schema, file) : undefined;
}

/** A JSON lines file: one value per non-blank line, each checked against `schema`; errors name the line. */
export function readJsonLines<S extends z.ZodType>(schema: S, file: string): Array<z.output<S>> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`cannot read ${file}: ${(error as Error).message}`);
  }
  const records: Array<z.output<S>> = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new Error(`${file} line ${index + 1}: not JSON (${(error as Error).message})`);
    }
    records.push(parseOrThrow(schema, value, `${file} line ${index + 1}`));
  });
  return records;
}

/** JSON lines text: one compact value per line, ending with a newline. */
export function formatJsonLines(values: readonly unknown[]): string {
  return values.map((value) => `${JSON.stringify(value)}\n`).join('');
}

/** Leaf values by dot path (`{ a: { b: 1 } }` → `{ 'a.b': 1 }`); arrays are leaves, compared whole. */
export function flattenJson(value: unknown, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  if (isJsonObject(value)) {
    for (const [key, child] of Object.entries(value)) flattenJson(child, prefix ? `${prefix}.${key}` : key, out);
  } else out[prefix] = value;
  return out;
}

/** The value at a dot path of a JSON value (`val.f2.samples`), or undefined where any step is absent. */
export function fieldAt(root: unknown, path: string): unknown {
  let current = root;
  for (const key of path.split('.')) {
    if (!isJsonObject(current)) return undefined;
    current = current[key];
  }
  return current;
}

/** A number at a dot path: undefined when absent or null, an error naming `where` and the field when not a number. */
export function numberAt(root: unknown, path: string, where: string): number | undefined {
  const value = fieldAt(root, path);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`${where}: '${path}' is ${JSON.stringify(value)}, expected a number`);
  return value;
}
