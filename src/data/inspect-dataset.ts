import { groupSpans, type LabelSchema } from '../labels/schema.ts';
import { datasets, type DatasetConfig } from './datasets/registry.ts';
import type { Dataset, DatasetContext, SkippedItem } from './datasets/types.ts';
import { median, type OrderRule } from './patients.ts';

export interface LabelCount {
  /** Target column (binary class, `group_class` for categorical, class for ordinal). */
  column: string;
  kind: 'binary' | 'categorical' | 'ordinal';
  /** Patients per value: binary/categorical `1` (positive) and `0`; ordinal one entry per grade. */
  patients: Record<string, number>;
  /** Positive (or graded > 0) slices, for slice-labelled datasets. */
  positiveSlices?: number;
}

export interface DatasetReport {
  kind: string;
  source: string;
  patients: number;
  slices: { total: number; min: number; median: number; max: number };
  order: {
    /** Patients ordered by each rule (position along the normal, instance number, file name). */
    byRule: Record<OrderRule, number>;
    /** Patients with slices sharing a position (duplicates, or two series grouped together). */
    duplicatePositions: string[];
    /** Patients whose slices do not all share one orientation. */
    mixedOrientation: string[];
    /** Patients whose largest gap between slices exceeds 1.5× their median gap (missing slices). */
    irregularSpacing: string[];
    /** Patients whose instance numbers do not follow position order. */
    instanceDisagrees: string[];
  };
  labels?: LabelCount[];
  skipped: SkippedItem[];
}

/** Counts per target column over patients (and positive slices where labels are per slice). */
export function labelCounts(schema: LabelSchema, dataset: Dataset): LabelCount[] {
  return groupSpans(schema).flatMap(({ group, targetOffset }) =>
    group.classes.map((name, i): LabelCount => {
      const column = targetOffset + i;
      const values = dataset.patients.map((p) => p.targets?.[column] ?? 0);
      const counts: Record<string, number> = {};
      const levels = group.kind === 'ordinal' ? group.levels : 2;
      for (let v = 0; v < levels; v++) counts[String(v)] = values.filter((x) => x === v).length;
      const count: LabelCount = {
        column: group.kind === 'categorical' ? `${group.name}_${name}` : name,
        kind: group.kind,
        patients: counts,
      };
      if (dataset.sliceLabelled) {
        count.positiveSlices = dataset.patients.reduce((sum, p) => sum + (p.sliceTargets ?? []).filter((row) => row[column] > 0).length, 0);
      }
      return count;
    }),
  );
}

/** Summarises a loaded dataset: sizes, slice order checks, label counts, skipped files. */
export function datasetReport(dataset: Dataset): DatasetReport {
  const counts = dataset.patients.map((p) => p.slices.length);
  const byRule: Record<OrderRule, number> = { position: 0, instance: 0, name: 0 };
  const order: DatasetReport['order'] = { byRule, duplicatePositions: [], mixedOrientation: [], irregularSpacing: [], instanceDisagrees: [] };
  for (const [id, check] of Object.entries(dataset.orderChecks)) {
    byRule[check.rule]++;
    if (check.duplicatePositions > 0) order.duplicatePositions.push(id);
    if (check.orientationMismatches > 0) order.mixedOrientation.push(id);
    if (check.spacing && check.spacing.max > 1.5 * check.spacing.median) order.irregularSpacing.push(id);
    if (check.instanceMonotonic === false) order.instanceDisagrees.push(id);
  }
  return {
    kind: dataset.kind,
    source: dataset.source,
    patients: dataset.patients.length,
    slices: {
      total: counts.reduce((a, b) => a + b, 0),
      min: counts.length ? Math.min(...counts) : 0,
      median: counts.length ? median(counts) : 0,
      max: counts.length ? Math.max(...counts) : 0,
    },
    order,
    ...(dataset.labelSchema && dataset.labelled ? { labels: labelCounts(dataset.labelSchema, dataset) } : {}),
    skipped: dataset.skipped,
  };
}

/**
 * Loads the dataset at `path` (the folder, or for `manifest` the CSV) with `config` and reports on it. Bad files
 * are listed rather than fatal unless the config sets `onBadFile` itself.
 */
export async function inspectDataset(path: string, config: DatasetConfig, context: DatasetContext = {}): Promise<DatasetReport> {
  const shape = datasets.get(config.name).schema.shape;
  const pathKey = 'root' in shape ? 'root' : 'csv';
  const dataset = await datasets.create({ onBadFile: 'skip', ...config, [pathKey]: path }, context);
  return datasetReport(dataset);
}

function listIds(ids: string[], limit = 5): string {
  return ids.length <= limit ? ids.join(', ') : `${ids.slice(0, limit).join(', ')} … (+${ids.length - limit})`;
}

/** The report as text for the terminal. */
export function formatDatasetReport(report: DatasetReport): string {
  const { slices, order } = report;
  const lines = [
    `dataset   ${report.kind} at ${report.source}`,
    `patients  ${report.patients}`,
    `slices    ${slices.total} (per patient min ${slices.min}, median ${slices.median}, max ${slices.max})`,
    `order     by position ${order.byRule.position}, by instance number ${order.byRule.instance}, by file name ${order.byRule.name}`,
  ];
  const warnings: Array<[string, string[]]> = [
    ['duplicate positions', order.duplicatePositions],
    ['mixed orientations', order.mixedOrientation],
    ['irregular spacing (gap > 1.5× median)', order.irregularSpacing],
    ['instance numbers out of position order', order.instanceDisagrees],
  ];
  for (const [what, ids] of warnings) if (ids.length > 0) lines.push(`  ⚠ ${what}: ${ids.length} patient(s): ${listIds(ids)}`);
  if (report.labels) {
    lines.push('labels    (patients per value; positive slices)');
    const width = Math.max(...report.labels.map((l) => l.column.length));
    for (const label of report.labels) {
      const values = Object.entries(label.patients).map(([value, n]) => `${value}: ${n}`).join('  ');
      const slicePart = label.positiveSlices !== undefined ? `  slices>0: ${label.positiveSlices}` : '';
      lines.push(`  ${label.column.padEnd(width)}  ${values}${slicePart}`);
    }
  } else {
    lines.push('labels    none');
  }
  lines.push(`bad files ${report.skipped.length}`);
  for (const item of report.skipped) {
    lines.push(`  ${item.file}${item.line !== undefined ? ` line ${item.line}` : ''}: ${item.reason}`);
  }
  return lines.join('\n');
}
