import { z } from 'zod';
import type { Registry } from '../core/registry.ts';
import { datasets } from '../data/datasets/registry.ts';
import { transforms } from '../data/transforms/index.ts';
import { losses } from '../losses/registry.ts';
import { metrics } from '../metrics/registry.ts';
import { backbones } from '../models/backbones/index.ts';
import { decoders } from '../models/decoders/index.ts';
import { denseModels } from '../models/dense/index.ts';
import { encoders } from '../models/encoders/index.ts';
import { heads } from '../models/heads/index.ts';
import { optimizers } from '../train/optimizers.ts';
import { schedules } from '../train/schedules.ts';

/**
 * Every registered component family, read from the registries themselves: `sliceseq list` and
 * docs/configuration.md (scripts/configuration-doc.ts) show whatever is registered, so a new backbone, metric or
 * schedule appears in both without an edit here. A new *family* is one row below.
 */
export interface ComponentFamily {
  /** How `sliceseq list FAMILY` names it (singular). */
  family: string;
  /** Where an experiment or a command names one, e.g. `model.backbone`. */
  where: string;
  /** The experiment fields (dot paths) that take one of its components; docs/configuration.md links them here. */
  fields: readonly string[];
  registry: Registry<never, unknown>;
}

export const componentFamilies: readonly ComponentFamily[] = [
  { family: 'dataset', where: 'data.dataset, split.test', fields: ['data.dataset', 'split.test'], registry: datasets },
  { family: 'transform', where: 'data.preprocess[]', fields: ['data.preprocess'], registry: transforms },
  { family: 'backbone', where: 'model.backbone', fields: ['model.backbone'], registry: backbones },
  { family: 'encoder', where: 'model.encoder', fields: ['model.encoder'], registry: encoders },
  { family: 'decoder', where: 'model.decoder', fields: ['model.decoder'], registry: decoders },
  { family: 'head', where: 'model.heads.<kind>', fields: ['model.heads'], registry: heads },
  { family: 'dense', where: 'model.dense', fields: ['model.dense'], registry: denseModels },
  { family: 'loss', where: 'loss.groups.<group>.loss', fields: ['loss'], registry: losses },
  { family: 'optimizer', where: 'optimizer', fields: ['optimizer'], registry: optimizers },
  { family: 'schedule', where: 'schedule', fields: ['schedule'], registry: schedules },
  { family: 'metric', where: 'sliceseq score --metric', fields: [], registry: metrics },
] as unknown as readonly ComponentFamily[];

/** The family named `name` (singular or plural, any case); an unknown name is an error listing the families. */
export function componentFamily(name: string): ComponentFamily {
  const wanted = name.toLowerCase();
  const found = componentFamilies.find((family) => family.family === wanted || `${family.family}s` === wanted || `${family.family}es` === wanted);
  if (!found) throw new Error(`unknown component family '${name}'; families: ${componentFamilies.map((family) => family.family).join(', ')}`);
  return found;
}

/** One option of a component: its name, its type in TypeScript-like notation, its default and its description. */
export interface OptionDoc {
  name: string;
  type: string;
  default?: unknown;
  required: boolean;
  description?: string;
}

type JsonSchema = {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  items?: JsonSchema | false;
  prefixItems?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema | boolean;
  required?: string[];
  minimum?: number;
  exclusiveMinimum?: number;
  maximum?: number;
  exclusiveMaximum?: number;
  default?: unknown;
  description?: string;
};

/** JSON Schema of a zod schema's input side (what a config file writes); transforms and refinements pass as-is. */
export function inputJsonSchema(schema: z.ZodType): JsonSchema {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
}

const SAFE_INTEGER = Number.MAX_SAFE_INTEGER;

function bounds(schema: JsonSchema): string {
  const parts: string[] = [];
  if (schema.exclusiveMinimum !== undefined) parts.push(`> ${schema.exclusiveMinimum}`);
  else if (schema.minimum !== undefined && schema.minimum > -SAFE_INTEGER) parts.push(`≥ ${schema.minimum}`);
  if (schema.exclusiveMaximum !== undefined) parts.push(`< ${schema.exclusiveMaximum}`);
  else if (schema.maximum !== undefined && schema.maximum < SAFE_INTEGER) parts.push(`≤ ${schema.maximum}`);
  return parts.length ? ` ${parts.join(', ')}` : '';
}

/** A compact type: `'patient' | 'slice'`, `integer ≥ 1`, `number[]`, `[integer, integer]`, `{ name, … }`. */
export function typeText(schema: JsonSchema, depth = 0): string {
  const union = schema.anyOf ?? schema.oneOf;
  if (union) return [...new Set(union.map((member) => typeText(member, depth)))].join(' | ');
  if (schema.enum) return schema.enum.map((value) => JSON.stringify(value).replaceAll('"', "'")).join(' | ');
  if (schema.const !== undefined) return JSON.stringify(schema.const).replaceAll('"', "'");
  if (Array.isArray(schema.type)) return schema.type.map((type) => typeText({ ...schema, type }, depth)).join(' | ');
  switch (schema.type) {
    case 'integer':
    case 'number':
      return `${schema.type}${bounds(schema)}`;
    case 'array':
      if (schema.prefixItems) return `[${schema.prefixItems.map((item) => typeText(item, depth + 1)).join(', ')}]`;
      if (schema.items) {
        const item = typeText(schema.items, depth + 1);
        return item.includes(' ') && !item.startsWith('{') ? `(${item})[]` : `${item}[]`;
      }
      return 'array';
    case 'object': {
      const keys = Object.keys(schema.properties ?? {});
      if (keys.join() === 'name' && typeof schema.additionalProperties === 'object') return '{ name, …options }';
      if (keys.length === 0) {
        const values = typeof schema.additionalProperties === 'object' ? typeText(schema.additionalProperties, depth + 1) : 'unknown';
        return `Record<string, ${values}>`;
      }
      if (depth > 0) return `{ ${keys.slice(0, 4).join(', ')}${keys.length > 4 ? ', …' : ''} }`;
      return `{ ${keys.join(', ')} }`;
    }
    case undefined:
      return 'unknown';
    default:
      return schema.type;
  }
}

/** The options of an object schema, one per key, in declaration order. */
export function optionDocs(schema: z.ZodType): OptionDoc[] {
  const json = inputJsonSchema(schema);
  const required = new Set(json.required ?? []);
  return Object.entries(json.properties ?? {}).map(([name, option]) => ({
    name,
    type: typeText(option, 1),
    ...(option.default !== undefined ? { default: option.default } : {}),
    required: required.has(name) && option.default === undefined,
    ...(option.description ? { description: option.description } : {}),
  }));
}

/** `{ a: 1, b: [2, 3] }` → `a: 1, b: [2,3]`: defaults on one line. */
export function formatDefaults(defaults: Record<string, unknown>): string {
  return Object.entries(defaults)
    .map(([key, value]) => `${key}: ${JSON.stringify(value)}`)
    .join(', ');
}

/** `sliceseq list [family]`: each family's components, one line each with its description, then its defaults. */
export function formatCatalog(families: readonly ComponentFamily[] = componentFamilies): string {
  const lines: string[] = [];
  for (const { family, where, registry } of families) {
    const entries = registry.list();
    lines.push(`${family}: ${entries.length} registered (${where})`);
    const width = Math.max(...entries.map((entry) => entry.name.length));
    for (const entry of entries) {
      lines.push(`  ${entry.name.padEnd(width)}  ${entry.description}`);
      const defaults = formatDefaults(entry.defaults);
      if (defaults) lines.push(`  ${' '.repeat(width)}  defaults: ${defaults}`);
    }
    lines.push('');
  }
  return lines.join('\n');
}
