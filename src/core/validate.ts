import { z } from 'zod';

/** Turns a zod error into one line per problem, each naming the field path and what was expected. */
export function formatZodError(error: z.ZodError, where: string): string {
  const lines = error.issues.map((issue) => {
    const path = issue.path.length ? issue.path.join('.') : '(root)';
    return `  ${path}: ${issue.message}`;
  });
  return `invalid ${where}:\n${lines.join('\n')}`;
}

/** Parses `value` with `schema`, throwing an error that names every bad field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new Error(formatZodError(parsed.error, where));
  return parsed.data;
}
