import { z } from 'zod';
import { parseOrThrow } from '../core/validate.ts';

/**
 * A label schema declares what a dataset's labels are and so what the model's heads emit. Labels are not all
 * alike: a group is
 * - `binary`: independent yes/no labels, one sigmoid output each (e.g. the five hemorrhage subtypes);
 * - `categorical`: exactly one of `classes` (softmax), e.g. liver healthy/low/high, with its own small neck;
 * - `ordinal`: each of `classes` (e.g. damage types) has a grade 0..levels-1, predicted as one regression
 *   output graded by `thresholds` (default 0.5, 1.5, …) or as levels-1 cumulative logits.
 * `noFinding` names an implicit label that is positive when every binary label is negative; it is derived
 * from the predictions, never an output of its own.
 */
const name = z.string().regex(/^[A-Za-z0-9_.-]+$/, 'use letters, digits, _ . - only');

export const binaryGroupSchema = z
  .object({ kind: z.literal('binary'), name, classes: z.array(name).min(1) })
  .strict();

export const categoricalGroupSchema = z
  .object({
    kind: z.literal('categorical'),
    name,
    classes: z.array(name).min(2),
    neck: z.number().int().positive().default(32),
    labelSmoothing: z.number().min(0).max(0.5).default(0.05),
  })
  .strict();

export const ordinalGroupSchema = z
  .object({
    kind: z.literal('ordinal'),
    name,
    classes: z.array(name).min(1),
    levels: z.number().int().min(2),
    mode: z.enum(['regression', 'cumulative']).default('regression'),
    thresholds: z.array(z.number()).optional(),
  })
  .strict()
  .superRefine((group, ctx) => {
    if (group.thresholds && group.thresholds.length !== group.levels - 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['thresholds'],
        message: `expected ${group.levels - 1} thresholds for ${group.levels} levels, got ${group.thresholds.length}`,
      });
    }
  });

export const labelGroupSchema = z.discriminatedUnion('kind', [binaryGroupSchema, categoricalGroupSchema, ordinalGroupSchema]);

export const labelSchemaSchema = z
  .object({
    groups: z.array(labelGroupSchema).min(1),
    noFinding: z.string().optional(),
  })
  .strict()
  .superRefine((schema, ctx) => {
    const seen = new Set<string>();
    schema.groups.forEach((group, g) => {
      if (seen.has(group.name)) ctx.addIssue({ code: 'custom', path: ['groups', g, 'name'], message: `duplicate group '${group.name}'` });
      seen.add(group.name);
    });
    if (schema.noFinding && !schema.groups.some((group) => group.kind === 'binary')) {
      ctx.addIssue({ code: 'custom', path: ['noFinding'], message: 'needs at least one binary group to derive from' });
    }
  });

export type BinaryGroup = z.output<typeof binaryGroupSchema>;
export type CategoricalGroup = z.output<typeof categoricalGroupSchema>;
export type OrdinalGroup = z.output<typeof ordinalGroupSchema>;
export type LabelGroup = z.output<typeof labelGroupSchema>;
export type LabelSchema = z.output<typeof labelSchemaSchema>;
export type LabelSchemaInput = z.input<typeof labelSchemaSchema>;

export function parseLabelSchema(value: unknown, where = 'label schema'): LabelSchema {
  return parseOrThrow(labelSchemaSchema, value, where);
}

/** Grade thresholds of an ordinal group (or any graded one: dense-ordinal maps too): the declared ones or 0.5, 1.5, … */
export function ordinalThresholds(group: Pick<OrdinalGroup, 'thresholds' | 'levels'>): number[] {
  return group.thresholds ?? Array.from({ length: group.levels - 1 }, (_, i) => i + 0.5);
}

/**
 * Targets are one flat Float32 row per sample (or slice). Layout, group after group:
 * binary → one 0/1 per class; categorical → one-hot over classes; ordinal → one grade per class.
 */
export function targetWidth(group: LabelGroup): number {
  return group.classes.length;
}

/** Model outputs (logits) per group: ordinal cumulative needs levels-1 logits per class. */
export function outputWidth(group: LabelGroup): number {
  if (group.kind === 'ordinal' && group.mode === 'cumulative') return group.classes.length * (group.levels - 1);
  return group.classes.length;
}

export interface GroupSpan {
  group: LabelGroup;
  targetOffset: number;
  outputOffset: number;
}

/** Where each group sits in the flat target row and the flat output row. */
export function groupSpans(schema: LabelSchema): GroupSpan[] {
  let targetOffset = 0;
  let outputOffset = 0;
  return schema.groups.map((group) => {
    const span = { group, targetOffset, outputOffset };
    targetOffset += targetWidth(group);
    outputOffset += outputWidth(group);
    return span;
  });
}

export function totalTargetWidth(schema: LabelSchema): number {
  return schema.groups.reduce((sum, group) => sum + targetWidth(group), 0);
}

export function totalOutputWidth(schema: LabelSchema): number {
  return schema.groups.reduce((sum, group) => sum + outputWidth(group), 0);
}

/** Column names of the flat target row: binary `class`, categorical `group_class`, ordinal `class`. */
export function targetColumns(schema: LabelSchema): string[] {
  return schema.groups.flatMap((group) =>
    group.kind === 'categorical' ? group.classes.map((c) => `${group.name}_${c}`) : [...group.classes],
  );
}

/** Names of the binary labels (the ones F2, AUC and thresholds apply to directly). */
export function binaryClassNames(schema: LabelSchema): string[] {
  return schema.groups.flatMap((group) => (group.kind === 'binary' ? group.classes : []));
}

/** A schema of independent binary labels, the common case. */
export function binarySchema(classes: string[], noFinding?: string): LabelSchema {
  return parseLabelSchema({ groups: [{ kind: 'binary', name: 'labels', classes }], ...(noFinding ? { noFinding } : {}) });
}

/** Why two label schemas differ, in words (`the model predicts … but the dataset is labelled …`); null when they are the same. */
export function schemaDifference(model: LabelSchema, data: LabelSchema, names: [string, string] = ['the model predicts', 'the dataset is labelled']): string | null {
  const describe = (schema: LabelSchema) => schema.groups.map((g) => `${g.kind} '${g.name}' [${g.classes.join(', ')}]`).join('; ');
  const key = (schema: LabelSchema) => JSON.stringify(schema.groups.map((g) => [g.kind, g.name, g.classes]));
  return key(model) === key(data) ? null : `${names[0]} ${describe(model)} but ${names[1]} ${describe(data)}`;
}
