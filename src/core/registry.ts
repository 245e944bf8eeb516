import { z } from 'zod';
import { formatZodError } from './validate.ts';

/** A named factory: the plain config it accepts (a zod object schema) and how to build from it. */
export interface RegistryEntry<Schema extends z.ZodObject<z.ZodRawShape>, Context, Product> {
  name: string;
  description: string;
  schema: Schema;
  create: (config: z.output<Schema>, context: Context) => Product;
}

/**
 * timm-style registry: every family (backbones, encoders, losses, metrics, datasets …) is registered by name
 * and created from a plain `{ name, ...options }` config by one factory. Unknown names and unknown option
 * keys are errors, never silent fallbacks.
 */
export class Registry<Context, Product> {
  private readonly entries = new Map<string, RegistryEntry<z.ZodObject<z.ZodRawShape>, Context, Product>>();

  constructor(readonly kind: string) {}

  register<Schema extends z.ZodObject<z.ZodRawShape>>(entry: RegistryEntry<Schema, Context, Product>): void {
    if (this.entries.has(entry.name)) throw new Error(`${this.kind} '${entry.name}' is already registered`);
    this.entries.set(entry.name, entry as unknown as RegistryEntry<z.ZodObject<z.ZodRawShape>, Context, Product>);
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  get(name: string): RegistryEntry<z.ZodObject<z.ZodRawShape>, Context, Product> {
    const entry = this.entries.get(name);
    if (!entry) {
      throw new Error(`unknown ${this.kind} '${name}'; registered: ${this.names().join(', ') || '(none)'}`);
    }
    return entry;
  }

  /**
   * The options an entry takes when none are given: each option whose schema has a default (or prefault) and
   * that default's value; options without one (required, or absent unless set) are left out.
   */
  defaults(name: string): Record<string, unknown> {
    const defaults: Record<string, unknown> = {};
    for (const [key, option] of Object.entries(this.get(name).schema.shape)) {
      const parsed = (option as z.ZodType).safeParse(undefined);
      if (parsed.success && parsed.data !== undefined) defaults[key] = parsed.data;
    }
    return defaults;
  }

  /** Every entry in registration order: name, one-line description, options schema and defaults (`sliceseq list`). */
  list(): Array<{ name: string; description: string; schema: z.ZodObject<z.ZodRawShape>; defaults: Record<string, unknown> }> {
    return [...this.entries.values()].map((entry) => ({ name: entry.name, description: entry.description, schema: entry.schema, defaults: this.defaults(entry.name) }));
  }

  /** Validates `options` against the entry's schema (strict: unknown keys fail) and returns the resolved config. */
  resolve(name: string, options: Record<string, unknown> = {}, where = this.kind): Record<string, unknown> {
    const entry = this.get(name);
    const parsed = entry.schema.strict().safeParse(options);
    if (!parsed.success) throw new Error(formatZodError(parsed.error, `${where} '${name}'`));
    return parsed.data as Record<string, unknown>;
  }

  /** Builds from `{ name, ...options }`. */
  create(config: { name: string } & Record<string, unknown>, context: Context, where = this.kind): Product {
    const { name, ...options } = config;
    const resolved = this.resolve(name, options, where);
    return this.get(name).create(resolved, context);
  }
}
