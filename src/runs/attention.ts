import { z } from 'zod';
import { writeJsonAtomic } from '../core/atomic.ts';
import { readJsonFile } from '../core/json.ts';
import { runPath } from './layout.ts';

/**
 * `attention.json`, written by a run whose label decoder is the class-query decoder: for a few patients, what each
 * class query attended to. Per label group (one query decoder each) and patient: one row per class over the
 * slices the model saw, in their order. The report draws it as a class × slice heatmap beside those slices.
 */
const probability = z.number().min(0).max(1);

export const patientAttentionSchema = z
  .object({
    id: z.string(),
    /** Positions of the slices the model saw in the patient's ordered slices (after maxSlices), and how many it has. */
    sliceIndices: z.array(z.number().int().min(0)),
    sliceCount: z.number().int().min(0),
    /** [classes][seen slices]; at slice level the mean over the patient's real query slices. */
    attention: z.array(z.array(probability)),
    /** Per class: the predicted probability (slice level: the highest over the patient's slices). */
    probabilities: z.array(probability),
  })
  .strict();

export const attentionFileSchema = z
  .object({
    /** Which split the patients come from (e.g. `test`). */
    split: z.string(),
    groups: z.array(
      z
        .object({
          group: z.string(),
          classes: z.array(z.string()).min(1),
          level: z.enum(['patient', 'slice']),
          patients: z.array(patientAttentionSchema),
        })
        .strict()
        .superRefine((group, ctx) => {
          group.patients.forEach((patient, p) => {
            const rows = patient.attention.length === group.classes.length && patient.probabilities.length === group.classes.length;
            if (!rows) ctx.addIssue({ code: 'custom', path: ['patients', p], message: `patient '${patient.id}': one attention row and probability per class (${group.classes.length}) expected` });
            patient.attention.forEach((row, c) => {
              if (row.length !== patient.sliceIndices.length) {
                ctx.addIssue({ code: 'custom', path: ['patients', p, 'attention', c], message: `${row.length} weights for ${patient.sliceIndices.length} slices` });
              }
            });
          });
        }),
    ),
  })
  .strict();

export type PatientAttention = z.output<typeof patientAttentionSchema>;
export type AttentionFile = z.output<typeof attentionFileSchema>;
export type GroupAttention = AttentionFile['groups'][number];

export function writeAttention(runDir: string, attention: AttentionFile): void {
  writeJsonAtomic(runPath(runDir, 'attention'), parseAttention(attention));
}

function parseAttention(value: unknown): AttentionFile {
  return attentionFileSchema.parse(value);
}

export function readAttention(runDir: string): AttentionFile {
  return readJsonFile(attentionFileSchema, runPath(runDir, 'attention'));
}
