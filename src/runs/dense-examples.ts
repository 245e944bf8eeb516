import { z } from 'zod';
import { writeJsonAtomic } from '../core/atomic.ts';
import { readJsonFile } from '../core/json.ts';
import { denseOrdinalGroupSchema } from '../labels/dense-ordinal.ts';
import { runPath } from './layout.ts';

/**
 * `dense-examples.json`, written by a dense-ordinal run: a few validation slices as the model saw them, with each
 * type's true grade map (the ignore value where unlabelled), the continuous output and the grades read from it,
 * row-major [rows, cols]. The report draws them side by side.
 */
const map = z.array(z.number());

export const denseExampleSchema = z
  .object({
    id: z.string(),
    rows: z.number().int().positive(),
    cols: z.number().int().positive(),
    image: z.object({ channels: z.number().int().positive(), data: z.array(z.number()) }).strict(),
    truth: z.array(map),
    values: z.array(map),
    grades: z.array(map),
  })
  .strict()
  .superRefine((example, ctx) => {
    const pixels = example.rows * example.cols;
    if (example.image.data.length !== pixels * example.image.channels) {
      ctx.addIssue({ code: 'custom', path: ['image', 'data'], message: `${example.image.data.length} values for ${example.rows}×${example.cols}×${example.image.channels}` });
    }
    for (const key of ['truth', 'values', 'grades'] as const) {
      example[key].forEach((values, t) => {
        if (values.length !== pixels) ctx.addIssue({ code: 'custom', path: [key, t], message: `${values.length} values for ${example.rows}×${example.cols} pixels` });
      });
    }
  });

export const denseExamplesFileSchema = z
  .object({
    group: denseOrdinalGroupSchema,
    /** Per type, the thresholds the grades were read with (dense-thresholds.json). */
    thresholds: z.record(z.string(), z.array(z.number())),
    examples: z.array(denseExampleSchema),
  })
  .strict()
  .superRefine((file, ctx) => {
    const types = file.group.classes.length;
    file.examples.forEach((example, e) => {
      for (const key of ['truth', 'values', 'grades'] as const) {
        if (example[key].length !== types) ctx.addIssue({ code: 'custom', path: ['examples', e, key], message: `${example[key].length} maps, the group has ${types} types` });
      }
    });
  });

export type DenseExample = z.output<typeof denseExampleSchema>;
export type DenseExamplesFile = z.output<typeof denseExamplesFileSchema>;

export function writeDenseExamples(runDir: string, file: DenseExamplesFile): void {
  writeJsonAtomic(runPath(runDir, 'denseExamples'), denseExamplesFileSchema.parse(file));
}

export function readDenseExamples(runDir: string): DenseExamplesFile {
  return readJsonFile(denseExamplesFileSchema, runPath(runDir, 'denseExamples'));
}
