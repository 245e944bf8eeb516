import { groupSpans, totalTargetWidth, type LabelSchema } from '../../labels/schema.ts';
import { requireColumns, type CsvRow, type CsvTable } from './csv.ts';
import type { BadInput } from './types.ts';

/**
 * Label cells in a CSV, per group kind:
 * - binary: one column per class, `0` or `1`;
 * - categorical: one column named after the group, holding one of its class names;
 * - ordinal: one column per class, an integer grade 0..levels-1.
 */
export function labelColumns(schema: LabelSchema): string[] {
  return schema.groups.flatMap((group) => (group.kind === 'categorical' ? [group.name] : group.classes));
}

/** Checks the label columns exist (error naming the file and the missing columns). */
export function requireLabelColumns(table: CsvTable, schema: LabelSchema): void {
  requireColumns(table, labelColumns(schema));
}

/** One CSV row's label cells as a flat target row; errors name the column and what was allowed (callers add file and line). */
export function parseTargetCells(schema: LabelSchema, cells: Record<string, string>): Float32Array {
  const targets = new Float32Array(totalTargetWidth(schema));
  for (const { group, targetOffset } of groupSpans(schema)) {
    if (group.kind === 'categorical') {
      const value = cells[group.name];
      const index = group.classes.indexOf(value);
      if (index < 0) {
        throw new Error(`column '${group.name}': '${value}' is not one of ${group.classes.join(', ')}`);
      }
      targets[targetOffset + index] = 1;
      continue;
    }
    group.classes.forEach((name, i) => {
      const value = cells[name];
      if (group.kind === 'binary') {
        if (value !== '0' && value !== '1') throw new Error(`column '${name}': expected 0 or 1, got '${value}'`);
        targets[targetOffset + i] = Number(value);
      } else {
        const grade = /^\d+$/.test(value) ? Number(value) : Number.NaN;
        if (!(grade >= 0 && grade < group.levels)) {
          throw new Error(`column '${name}': expected an integer grade 0..${group.levels - 1}, got '${value}'`);
        }
        targets[targetOffset + i] = grade;
      }
    });
  }
  return targets;
}

/**
 * A patient's target row from its slices' rows: binary → positive if any slice is; ordinal → the highest grade;
 * categorical → the slices must agree (a patient has one class), otherwise an error naming the group.
 */
export function aggregateSliceTargets(schema: LabelSchema, rows: readonly Float32Array[]): Float32Array {
  if (rows.length === 0) throw new Error('no slice targets to aggregate');
  const targets = new Float32Array(totalTargetWidth(schema));
  for (const { group, targetOffset } of groupSpans(schema)) {
    const width = group.classes.length;
    if (group.kind === 'categorical') {
      const first = rows[0].subarray(targetOffset, targetOffset + width);
      const disagreeing = rows.findIndex((row) => row.subarray(targetOffset, targetOffset + width).some((v, i) => v !== first[i]));
      if (disagreeing >= 0) {
        throw new Error(`slices disagree on categorical group '${group.name}' (slice 1 vs slice ${disagreeing + 1})`);
      }
      targets.set(first, targetOffset);
      continue;
    }
    for (let i = 0; i < width; i++) {
      targets[targetOffset + i] = Math.max(...rows.map((row) => row[targetOffset + i]));
    }
  }
  return targets;
}

export interface PatientLabels {
  targets: Float32Array;
  line: number;
}

/**
 * A label CSV with one row per patient: `idColumn` plus the label columns. Bad rows (empty id, duplicate id,
 * bad cell) go to `bad` with their line; the rest come back by patient id.
 */
export function patientLabelsFromTable(table: CsvTable, idColumn: string, schema: LabelSchema, bad: BadInput): Map<string, PatientLabels> {
  requireColumns(table, [idColumn]);
  requireLabelColumns(table, schema);
  const labels = new Map<string, PatientLabels>();
  for (const row of table.rows) {
    const id = row.cells[idColumn];
    const earlier = labels.get(id);
    if (id === '') bad.report({ file: table.file, line: row.line, reason: `empty '${idColumn}'` });
    else if (earlier) bad.report({ file: table.file, line: row.line, reason: `duplicate patient '${id}' (first at line ${earlier.line})` });
    else {
      const targets = parseRowTargets(schema, row, table.file, bad);
      if (targets) labels.set(id, { targets, line: row.line });
    }
  }
  return labels;
}

/** A row's targets, or undefined after reporting the bad cell to `bad` (skip mode). */
export function parseRowTargets(schema: LabelSchema, row: CsvRow, file: string, bad: BadInput): Float32Array | undefined {
  try {
    return parseTargetCells(schema, row.cells);
  } catch (error) {
    bad.report({ file, line: row.line, reason: (error as Error).message });
    return undefined;
  }
}
