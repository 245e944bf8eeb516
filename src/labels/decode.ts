import { groupSpans, ordinalThresholds, totalOutputWidth, type LabelGroup, type LabelSchema } from './schema.ts';

function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

function groupColumns(group: LabelGroup): string[] {
  switch (group.kind) {
    case 'binary':
      return [...group.classes];
    case 'categorical':
      return group.classes.map((name) => `${group.name}_${name}`);
    case 'ordinal':
      return group.classes.flatMap((name) => [name, `${name}_grade`]);
  }
}

/** The decoded columns, in order: groups in schema order, then noFinding if declared. */
export function decodedColumns(schema: LabelSchema): string[] {
  return [...schema.groups.flatMap(groupColumns), ...(schema.noFinding ? [schema.noFinding] : [])];
}

/** Writes one group's decoded values for one row; `logits` is the row's slice for this group. */
function decodeGroup(group: LabelGroup, logits: Float32Array, out: Float32Array): void {
  switch (group.kind) {
    case 'binary':
      for (let c = 0; c < logits.length; c++) out[c] = sigmoid(logits[c]);
      return;
    case 'categorical': {
      const max = Math.max(...logits);
      let total = 0;
      for (let c = 0; c < logits.length; c++) {
        out[c] = Math.exp(logits[c] - max);
        total += out[c];
      }
      for (let c = 0; c < logits.length; c++) out[c] /= total;
      return;
    }
    case 'ordinal': {
      if (group.mode === 'regression') {
        const thresholds = ordinalThresholds(group);
        for (let c = 0; c < logits.length; c++) {
          out[2 * c] = logits[c];
          out[2 * c + 1] = thresholds.filter((threshold) => logits[c] > threshold).length;
        }
        return;
      }
      const steps = group.levels - 1;
      for (let c = 0; c < group.classes.length; c++) {
        let expected = 0;
        let grade = 0;
        for (let k = 0; k < steps; k++) {
          const exceeds = sigmoid(logits[c * steps + k]);
          expected += exceeds;
          if (exceeds > 0.5) grade++;
        }
        out[2 * c] = expected;
        out[2 * c + 1] = grade;
      }
    }
  }
}

/**
 * Decodes the model's flat logits rows into named score columns for submissions and metrics:
 * - binary: the sigmoid probability per class (column `class`);
 * - categorical: the softmax over the group (columns `group_class`, e.g. liver_healthy, liver_low, liver_high);
 * - ordinal: per class the score (`class`: the regression value, or the expected grade Σ P(grade > k) from the
 *   cumulative logits, laid out class-major) and the predicted grade (`class_grade`: thresholds passed, or
 *   cumulative probabilities above 0.5);
 * - the schema's implicit noFinding label, when declared: Π (1 − p) over every binary class.
 * The values, row-major [rows, decodedColumns(schema).length], become a prediction table's scores
 * (metrics/prediction-table.ts `PredictionTable.fromLogits`), the one type that carries them with their rows' ids.
 *
 * `logits` are row-major [rows, totalOutputWidth(schema)].
 */
export function decodeLogits(schema: LabelSchema, logits: Float32Array | ArrayLike<number>): Float32Array {
  const width = totalOutputWidth(schema);
  if (logits.length % width !== 0) {
    throw new Error(`decodeLogits: ${logits.length} values are not whole rows of the label schema's ${width} outputs`);
  }
  const rows = logits.length / width;
  const flat = logits instanceof Float32Array ? logits : Float32Array.from(logits);
  const columns = decodedColumns(schema);
  const values = new Float32Array(rows * columns.length);
  const spans = groupSpans(schema);
  const groupWidths = schema.groups.map((group) => groupColumns(group).length);
  for (let row = 0; row < rows; row++) {
    const rowOut = values.subarray(row * columns.length, (row + 1) * columns.length);
    let column = 0;
    let noFinding = 1;
    spans.forEach(({ group, outputOffset }, g) => {
      const start = row * width + outputOffset;
      const groupLogits = flat.subarray(start, start + (spans[g + 1]?.outputOffset ?? width) - outputOffset);
      const out = rowOut.subarray(column, column + groupWidths[g]);
      decodeGroup(group, groupLogits, out);
      if (group.kind === 'binary') for (const p of out) noFinding *= 1 - p;
      column += groupWidths[g];
    });
    if (schema.noFinding) rowOut[column] = noFinding;
  }
  return values;
}
