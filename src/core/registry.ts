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
