import { z } from 'zod';
import { parseOrThrow } from '../core/validate.ts';
import { ordinalThresholds } from './schema.ts';

/**
 * A dense-ordinal label group: every pixel of a slice has a grade 0..levels-1 for each of `classes` (damage
 * types), given as mask files. The model emits a map per slice, `[H, W, outputWidth]`:
 * - `regression` (the reference): one channel per type, the predicted grade, read as a grade by `thresholds`;
 * - `cumulative`: levels-1 logits per type (type-major), logit k for "grade > k";
 * - `joint`: one softmax over all levels^types combinations (the baseline that cannot predict a combination it
 *   never saw), read back per type from the arg-max combination.
 * Pixels whose mask value is `ignoreValue` are unlabelled: no loss, no metric.
 */
const name = z.string().regex(/^[A-Za-z0-9_.-]+$/, 'use letters, digits, _ . - only');

export const denseOutputModes = ['regression', 'cumulative', 'joint'] as const;
export type DenseOutputMode = (typeof denseOutputModes)[number];

export const denseOrdinalGroupSchema = z
  .object({
    kind: z.literal('dense-ordinal'),
    name,
    classes: z.array(name).min(1),
    levels: z.number().int().min(2).max(16),
    mode: z.enum(denseOutputModes).default('regression'),
    thresholds: z.array(z.number()).optional(),
    ignoreValue: z.number().int().default(255),
  })
  .strict()
  .superRefine((group, ctx) => {
    if (group.thresholds && group.thresholds.length !== group.levels - 1) {
      ctx.addIssue({ code: 'custom', path: ['thresholds'], message: `expected ${group.levels - 1} thresholds for ${group.levels} levels, got ${group.thresholds.length}` });
    }
    if (group.thresholds && group.thresholds.some((t, i) => i > 0 && t <= group.thresholds![i - 1])) {
      ctx.addIssue({ code: 'custom', path: ['thresholds'], message: 'thresholds must increase' });
    }
    if (group.ignoreValue >= 0 && group.ignoreValue < group.levels) {
      ctx.addIssue({ code: 'custom', path: ['ignoreValue'], message: `${group.ignoreValue} is a grade (0..${group.levels - 1}); pick a value outside them` });
    }
    if (group.mode === 'joint' && group.levels ** group.classes.length > 4096) {
      ctx.addIssue({ code: 'custom', path: ['mode'], message: `'joint' would need ${group.levels ** group.classes.length} outputs; at most 4096` });
    }
  });

export type DenseOrdinalGroup = z.output<typeof denseOrdinalGroupSchema>;
export type DenseOrdinalGroupInput = z.input<typeof denseOrdinalGroupSchema>;

export function parseDenseOrdinalGroup(value: unknown, where = 'dense-ordinal group'): DenseOrdinalGroup {
  return parseOrThrow(denseOrdinalGroupSchema, value, where);
}

/** The declared thresholds or 0.5, 1.5, … */
export function denseThresholds(group: DenseOrdinalGroup): number[] {
  return ordinalThresholds(group);
}

/** Output channels per pixel. */
export function denseOutputWidth(group: DenseOrdinalGroup): number {
  const types = group.classes.length;
  if (group.mode === 'cumulative') return types * (group.levels - 1);
  if (group.mode === 'joint') return group.levels ** types;
  return types;
}

/** The joint class of per-type grades: grades read as the digits of a base-`levels` number, first type most significant. */
export function jointIndex(grades: ArrayLike<number>, levels: number): number {
  let index = 0;
  for (let t = 0; t < grades.length; t++) index = index * levels + grades[t];
  return index;
}

/** The per-type grades of a joint class (inverse of `jointIndex`). */
export function jointGrades(index: number, types: number, levels: number, out = new Int32Array(types)): Int32Array {
  let rest = index;
  for (let t = types - 1; t >= 0; t--) {
    out[t] = rest % levels;
    rest = Math.floor(rest / levels);
  }
  return out;
}

function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** The number of thresholds `value` passes (`value > t`). */
export function gradeOf(value: number, thresholds: readonly number[]): number {
  let grade = 0;
  for (const t of thresholds) if (value > t) grade++;
  return grade;
}

/**
 * One pixel's outputs (`outputWidth` values) → per type a continuous value and a grade:
 * regression: the value, graded by `thresholds` (per type); cumulative: Σ P(grade > k), graded by counting
 * P > 0.5; joint: the expected grade under the softmax's per-type marginals, graded by the arg-max combination.
 */
export function decodeDensePixel(group: DenseOrdinalGroup, outputs: ArrayLike<number>, thresholds: readonly (readonly number[])[], values: Float32Array, grades: Int32Array): void {
  const types = group.classes.length;
  const levels = group.levels;
  if (group.mode === 'regression') {
    for (let t = 0; t < types; t++) {
      values[t] = outputs[t];
      grades[t] = gradeOf(outputs[t], thresholds[t]);
    }
    return;
  }
  if (group.mode === 'cumulative') {
    for (let t = 0; t < types; t++) {
      let expected = 0;
      let grade = 0;
      for (let k = 0; k < levels - 1; k++) {
        const p = sigmoid(outputs[t * (levels - 1) + k]);
        expected += p;
        if (p > 0.5) grade++;
      }
      values[t] = expected;
      grades[t] = grade;
    }
    return;
  }
  const width = levels ** types;
  let max = -Infinity;
  let best = 0;
  for (let j = 0; j < width; j++) {
    if (outputs[j] > max) {
      max = outputs[j];
      best = j;
    }
  }
  let total = 0;
  values.fill(0, 0, types);
  const digits = new Int32Array(types);
  for (let j = 0; j < width; j++) {
    const p = Math.exp(outputs[j] - max);
    total += p;
    jointGrades(j, types, levels, digits);
    for (let t = 0; t < types; t++) values[t] += p * digits[t];
  }
  for (let t = 0; t < types; t++) values[t] /= total;
  jointGrades(best, types, levels, grades);
}
