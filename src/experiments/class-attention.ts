import * as tf from '@tensorflow/tfjs';
import type { BatchSource } from '../data/loader.ts';
import { limitSliceIndices, type Patient, type SliceLimitRule } from '../data/patients.ts';
import type { AttentionFile, GroupAttention } from '../runs/attention.ts';
import { classAttention } from '../models/attention-maps.ts';

/** A run keeps the attention of this many test patients (see pickAttentionPatients). */
export const ATTENTION_PATIENTS = 4;

/** A patient whose attention is collected, with the slice positions the loader keeps for it. */
export interface AttentionPatient {
  id: string;
  /** The slice positions the loader keeps for this patient (limitSliceIndices of the run's maxSlices rule). */
  sliceIndices: number[];
  sliceCount: number;
}

/**
 * The patients whose attention a run keeps: up to `count`, those with a positive label first (their maps show
 * where a class was found), in split order; with the slice positions the loader keeps for each.
 */
export function pickAttentionPatients(patients: readonly Patient[], count: number, limit: { maxSlices?: number; sliceLimit: SliceLimitRule }): { patients: Patient[]; positions: AttentionPatient[] } {
  const positive = (p: Patient) => p.targets?.some((value) => value > 0) ?? false;
  const chosen = [...patients.filter(positive), ...patients.filter((p) => !positive(p))].slice(0, count);
  return {
    patients: chosen,
    positions: chosen.map((p) => ({ id: p.id, sliceIndices: limitSliceIndices(p.slices.length, limit.maxSlices, limit.sliceLimit), sliceCount: p.slices.length })),
  };
}

const round = (value: number) => Number(value.toPrecision(5));

/** Per patient of a batch: [classes][real slices] (slice level: averaged over the real query slices). */
function patientRows(attention: tf.Tensor, scores: tf.Tensor, real: number[][], level: 'patient' | 'slice'): Array<{ attention: number[][]; probabilities: number[] }> {
  const maps = attention.arraySync() as number[][][] | number[][][][];
  const probabilities = tf.tidy(() => tf.sigmoid(scores).arraySync()) as number[][] | number[][][];
  return real.map((slices, p) => {
    if (level === 'patient') {
      const map = (maps as number[][][])[p];
      return { attention: map.map((row) => slices.map((s) => round(row[s]))), probabilities: (probabilities as number[][])[p].map(round) };
    }
    const perQuery = (maps as number[][][][])[p];
    const classes = perQuery[0].length;
    const attentionRows = Array.from({ length: classes }, (_, c) => slices.map((s) => round(slices.reduce((sum, q) => sum + perQuery[q][c][s], 0) / Math.max(slices.length, 1))));
    const perSlice = (probabilities as number[][][])[p];
    return { attention: attentionRows, probabilities: Array.from({ length: classes }, (_, c) => round(Math.max(...slices.map((s) => perSlice[s][c])))) };
  });
}

/**
 * Runs `loader` (over the chosen patients, no augmentation) through the model and collects every query
 * decoder's attention (see `queryDecoders` to ask first whether the model has one; this throws if it has none).
 */
export async function collectClassAttention(model: tf.LayersModel, loader: BatchSource, patients: readonly AttentionPatient[], split: string): Promise<AttentionFile> {
  const byId = new Map(patients.map((p) => [p.id, p]));
  const groups: GroupAttention[] = [];
  for await (const batch of loader.epoch(0)) {
    try {
      const mask = batch.mask.arraySync();
      const real = mask.map((row) => row.flatMap((value, s) => (value > 0.5 ? [s] : [])));
      const maps = classAttention(model, [batch.images, batch.mask]);
      try {
        maps.forEach((map, g) => {
          groups[g] ??= { group: map.group, classes: map.classes, level: map.level, patients: [] };
          patientRows(map.attention, map.scores, real, map.level).forEach((rows, p) => {
            const id = batch.patientIds[p];
            const known = byId.get(id);
            if (!known) throw new Error(`internal: the attention loader returned patient '${id}', which was not asked for`);
            if (known.sliceIndices.length !== real[p].length) {
              throw new Error(`internal: patient '${id}' has ${real[p].length} real slices in the batch, ${known.sliceIndices.length} slice positions were given`);
            }
            groups[g].patients.push({ id, sliceIndices: known.sliceIndices, sliceCount: known.sliceCount, ...rows });
          });
        });
      } finally {
        tf.dispose(maps.flatMap((map) => [map.attention, map.scores]));
      }
    } finally {
      batch.dispose();
    }
  }
  return { split, groups };
}
