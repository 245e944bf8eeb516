import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import fg from 'fast-glob';
import { writeFileAtomic } from '../core/atomic.ts';
import { fieldAt, flattenJson, numberAt } from '../core/json.ts';
import { packageVersion } from '../core/version.ts';
import { pairedBootstrap, type PairedBootstrapResult } from '../metrics/bootstrap.ts';
import { binarize, matrix, type LabelMatrix, type ScoreMatrix } from '../metrics/matrix.ts';
import { createMetric, scoreFunction } from '../metrics/registry.ts';
import { metricKeys, type MetricKey } from '../metrics/scores.ts';
import { RUN_FILES, runPath } from '../runs/layout.ts';
import { readRunFiles, type RunFiles } from '../runs/run-dir.ts';
import { runCurvesSpec, runMetricPanelsSpec, type RunPoint } from './charts/compare.ts';
import { smoothed, SMOOTHING } from './charts/history.ts';
import { figureHtml, formatNumber, html, htmlPage, htmlTable, type PageSection, type SafeHtml } from './html.ts';
import { FigureSet } from './render.ts';

/**
 * `sliceseq compare`: one offline page over many runs (static SVG, as the run report). Their training and
 * validation curves overlaid, one colour per run, each run named by how its config.json differs from the others';
 * a table of final validation and test metrics with the best of each column marked; and, for runs that share the
 * first run's test patients, the paired-bootstrap difference of each from the first.
 */
export interface CompareOptions {
  /** The page to write (its figures go to `<page name>-figures/` beside it). */
  out: string;
  /** Bootstrap resamples (default 1000) and seed (default 0) of the differences from the first run. */
  resamples?: number;
  seed?: number;
  /** Page title. */
  title?: string;
}

export interface CompareResult {
  html: string;
  runs: string[];
  notes: string[];
}

/**
 * Run directories from arguments: a run directory (it has config.json), a folder holding runs (every run
 * directory below it, e.g. an ablation's trials), or a glob of either; in argument order, each once.
 */
export function resolveRunArguments(args: readonly string[]): string[] {
  const found: string[] = [];
  for (const arg of args) {
    const matches = fg.isDynamicPattern(arg) ? fg.sync(arg, { onlyDirectories: true, absolute: true }).sort() : [resolve(arg)];
    if (matches.length === 0) throw new Error(`compare: '${arg}' matches no directory`);
    for (const dir of matches) {
      if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`compare: ${dir} is not a directory`);
      const runs = existsSync(runPath(dir, 'config'))
        ? [dir]
        : fg.sync(`**/${RUN_FILES.config}`, { cwd: dir, absolute: true, ignore: ['**/node_modules/**'] }).map((file) => dirname(file)).sort();
      if (runs.length === 0) throw new Error(`compare: ${dir} is not a run directory (no ${RUN_FILES.config}) and holds none`);
      for (const run of runs) if (!found.includes(run)) found.push(run);
    }
  }
  if (found.length === 0) throw new Error('compare: no run directories given');
  return found;
}

// ---- names from config differences --------------------------------------------------------------------------------

/** Config paths whose values differ between the runs (a component's `name` shown as the component). */
export function configDifferences(configs: ReadonlyArray<Record<string, unknown> | undefined>): string[] {
  const flat = configs.map((config) => flattenJson(config ?? {}));
  const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))].filter((key) => key !== 'description' && !key.startsWith('quick.'));
  return keys.filter((key) => new Set(flat.map((f) => JSON.stringify(f[key] ?? null))).size > 1);
}

/** The shortest tail of each path that tells it from the others: `model.decoder.name` → `decoder`, `optimizer.lr` → `lr`. */
function shortKeys(paths: readonly string[]): Map<string, string> {
  const parts = paths.map((path) => path.replace(/\.name$/, '').split('.'));
  return new Map(
    paths.map((path, i) => {
      for (let n = 1; n <= parts[i].length; n++) {
        const tail = parts[i].slice(-n).join('.');
        if (parts.every((other, j) => j === i || other.slice(-n).join('.') !== tail)) return [path, tail];
      }
      return [path, parts[i].join('.')];
    }),
  );
}

const valueText = (value: unknown) => (value === undefined ? '—' : typeof value === 'string' ? value : JSON.stringify(value));

// ---- metrics -------------------------------------------------------------------------------------------------------

/** Final metric columns (the metric-key table's paths, titles and directions). */
const metricColumns: readonly MetricKey[] = [
  metricKeys.f2TunedSamples,
  { ...metricKeys.f2Samples, title: `${metricKeys.f2Samples.title} @0.5` },
  metricKeys.aucMacro,
  metricKeys.apMacro,
  metricKeys.logloss,
  metricKeys.brier,
  metricKeys.ece,
];

/** Validation metrics per epoch drawn as panels (paths in history.jsonl's `val` block). */
const curveMetrics: ReadonlyArray<[title: string, path: string]> = [metricKeys.f2Samples, metricKeys.aucMacro, metricKeys.apMacro, metricKeys.brier, metricKeys.ece].map(
  ({ title, path }) => [title, path],
);

interface LoadedRun {
  files: RunFiles;
  label: string;
}

function metricsTable(runs: readonly LoadedRun[]): SafeHtml {
  const splits: Array<[label: string, key: string]> = [
    ['val', 'val'],
    ['test', 'test'],
  ];
  const columns = splits.flatMap(([label, key]) =>
    metricColumns
      .map((metric) => ({ title: `${metric.title} (${label})`, path: `${key}.${metric.path}`, better: metric.higherIsBetter ? 'higher' : 'lower' }))
      .filter((column) => runs.some((run) => numberAt(run.files.metrics, column.path, RUN_FILES.metrics) !== undefined)),
  );
  const values = runs.map((run) => columns.map((column) => numberAt(run.files.metrics, column.path, RUN_FILES.metrics)));
  const best = columns.map((column, c) => {
    const defined = values.map((row) => row[c]).filter((v): v is number => v !== undefined && Number.isFinite(v));
    return defined.length > 1 ? (column.better === 'higher' ? Math.max(...defined) : Math.min(...defined)) : undefined;
  });
  const rows = runs.map((run, r) => [
    run.label,
    ...values[r].map((value, c) => (value !== undefined && value === best[c] ? html`<strong class="best">${formatNumber(value)} ★</strong>` : formatNumber(value))),
  ]);
  return htmlTable(['run', ...columns.map((column) => column.title)], rows, {
    caption: `From each run's ${RUN_FILES.metrics} (its best epoch); ★ marks the best value of each column (lowest for log loss, Brier and ECE). Tuned: thresholds fitted on that run's validation predictions.`,
  });
}

// ---- differences from the first run ------------------------------------------------------------------------------

/** The run's test predictions in the first run's row order, or why they cannot be paired with it. */
function alignedTest(run: RunFiles, first: RunFiles): { scores: ScoreMatrix; decisions: ScoreMatrix } | string {
  if (!run.test || !first.test) return `no ${RUN_FILES.predictionsTest}`;
  if (run.test.columns.join('\u0000') !== first.test.columns.join('\u0000')) return 'other classes';
  let aligned: ScoreMatrix;
  try {
    aligned = run.test.alignTo(first.test.ids).scores;
  } catch {
    return 'another test set';
  }
  // Decisions at the run's own tuned thresholds (0.5 without thresholds.json), scored as 0/1 predictions.
  const decisions = binarize(aligned, run.thresholds?.thresholds ?? 0.5);
  return { scores: aligned, decisions: matrix(Float64Array.from(decisions.data), decisions.rows, decisions.cols) };
}

interface Difference {
  run: string;
  metric: string;
  result: PairedBootstrapResult;
}

function differences(runs: readonly LoadedRun[], options: CompareOptions, notes: string[]): Difference[] {
  const [first, ...others] = runs;
  const reference = alignedTest(first.files, first.files);
  if (typeof reference === 'string') {
    notes.push(`differences from the first run: it has ${reference}`);
    return [];
  }
  const targets: LabelMatrix = first.files.test!.targets();
  const columns = [...first.files.test!.columns];
  const quiet = () => {};
  const scorers: Array<[metric: string, score: ReturnType<typeof scoreFunction>, input: 'scores' | 'decisions']> = [
    ['F2 samples (own tuned thresholds)', scoreFunction(createMetric({ name: 'f2', average: 'samples', threshold: 0.5 }, { columns })), 'decisions'],
    ['AUC macro', scoreFunction(createMetric({ name: 'auc', average: 'macro' }, { columns })), 'scores'],
  ];
  const out: Difference[] = [];
  for (const run of others) {
    const aligned = alignedTest(run.files, first.files);
    if (typeof aligned === 'string') {
      notes.push(`${run.label}: no paired difference from the first run (${aligned})`);
      continue;
    }
    for (const [metric, score, input] of scorers) {
      const result = pairedBootstrap(score, aligned[input], reference[input], targets, {
        seed: options.seed ?? 0,
        resamples: options.resamples ?? 1000,
        ...(first.files.test!.patients ? { patients: first.files.test!.patients } : {}),
        warn: quiet,
      });
      out.push({ run: run.label, metric, result });
    }
  }
  return out;
}

function differencesTable(items: readonly Difference[], firstLabel: string): SafeHtml {
  const rows = items.map(({ run, metric, result }) => [
    run,
    metric,
    formatNumber(result.a),
    formatNumber(result.b),
    formatNumber(result.estimate, 4, { sign: true }),
    result.lower === null || result.upper === null ? '—' : `[${formatNumber(result.lower, 4, { sign: true })}, ${formatNumber(result.upper, 4, { sign: true })}]`,
    formatNumber(result.pValue, 3),
  ]);
  const resamples = items[0]?.result.resamples ?? 0;
  return htmlTable(['run', 'metric (test)', 'run', 'first run', 'difference', '95% interval', 'p'], rows, {
    caption: `Each run minus the first (${firstLabel}) on the test patients they share: a paired bootstrap over patients (${resamples} resamples), so the interval leaves out which patients happen to be in the test set.`,
  });
}

// ---- the page ----------------------------------------------------------------------------------------------------

function runsTable(runs: readonly LoadedRun[], differing: readonly string[], short: Map<string, string>): SafeHtml {
  const rows = runs.map((run) => [
    run.label,
    run.files.name,
    ...differing.map((key) => valueText(flattenJson(run.files.config ?? {})[key])),
    String(fieldAt(run.files.metrics, 'best_epoch') ?? '—'),
    String(run.files.history.length),
  ]);
  return htmlTable(['run', 'directory', ...differing.map((key) => short.get(key)!), 'best epoch', 'epochs'], rows, {
    caption: differing.length > 0 ? `The config values that differ between the runs (config.json): ${differing.join(', ')}.` : 'The runs have the same config.',
  });
}

async function curveFigures(runs: readonly LoadedRun[], figures: FigureSet, notes: string[], figuresDir: string): Promise<SafeHtml[]> {
  const labels = runs.map((run) => run.label);
  const losses: RunPoint[] = [];
  const metrics: RunPoint[] = [];
  const steps: RunPoint[] = [];
  for (const { files, label } of runs) {
    if (files.history.length === 0) notes.push(`${label}: no ${RUN_FILES.history}, so no curves`);
    for (const record of files.history) {
      const where = `${files.name}/${RUN_FILES.history} epoch ${record.epoch}`;
      const push = (into: RunPoint[], series: string, value: number | undefined) => value !== undefined && into.push({ run: label, x: record.epoch, series, value });
      push(losses, 'train', numberAt(record, 'train_loss', where));
      push(losses, 'validation', numberAt(record, 'val.loss', where));
      for (const [title, path] of curveMetrics) push(metrics, title, numberAt(record, `val.${path}`, where));
    }
    const loss = smoothed((files.steps ?? []).map((s) => s.loss));
    (files.steps ?? []).forEach((s, i) => steps.push({ run: label, x: s.step, series: 'train', value: loss[i] }));
  }
  const parts: SafeHtml[] = [];
  if (losses.length > 0) {
    const figure = await figures.add('compare-loss', runCurvesSpec(losses, labels, { title: 'Loss per epoch', xTitle: 'epoch', yTitle: 'mean loss', marks: true }), 'Training (solid) and validation (dashed) loss per epoch, one colour per run.');
    parts.push(figureHtml({ ...figure, dir: figuresDir }));
  }
  if (metrics.length > 0) {
    const present = curveMetrics.map(([title]) => title).filter((title) => metrics.some((p) => p.series === title));
    const figure = await figures.add('compare-metrics', runMetricPanelsSpec(metrics, labels, present, 'Validation metrics per epoch'), 'Validation metrics per epoch (F2 at threshold 0.5), one colour per run; each panel has its own scale.');
    parts.push(figureHtml({ ...figure, dir: figuresDir }));
  }
  if (steps.length > 0) {
    const figure = await figures.add(
      'compare-step-loss',
      runCurvesSpec(steps, labels, { title: 'Training loss per step', xTitle: 'optimizer step', yTitle: `loss (smoothed ${SMOOTHING})` }),
      `Training loss per optimizer step (${RUN_FILES.steps}), smoothed as TensorBoard smooths by default (weight ${SMOOTHING}), one colour per run.`,
    );
    parts.push(figureHtml({ ...figure, dir: figuresDir }));
  }
  return parts;
}

/** Writes the comparison page of `runDirs` (run directories, in order; the first is the one others are compared with). */
export async function writeComparison(runDirs: readonly string[], options: CompareOptions): Promise<CompareResult> {
  if (runDirs.length === 0) throw new Error('compare: no run directories given');
  const notes: string[] = [];
  const loaded = await Promise.all(runDirs.map((dir) => readRunFiles(dir)));
  const differing = configDifferences(loaded.map((files) => files.config));
  const short = shortKeys(differing);
  // A run's name: its component names and the options whose values differ among the runs that have them (an
  // option only some components have, with one value, goes with the component's name).
  const flats = loaded.map((files) => flattenJson(files.config ?? {}));
  const telling = differing.filter((key) => key.endsWith('.name') || new Set(flats.filter((f) => f[key] !== undefined).map((f) => JSON.stringify(f[key]))).size > 1);
  const named = loaded.map((files, i) => {
    const text = telling.filter((key) => flats[i][key] !== undefined).map((key) => `${short.get(key)}=${valueText(flats[i][key])}`).join(', ');
    return text || files.name;
  });
  // Runs with the same differences (a rerun) keep their directory name beside them.
  const runs: LoadedRun[] = loaded.map((files, i) => ({ files, label: named.filter((n) => n === named[i]).length > 1 ? `${named[i]} (${files.name})` : named[i] }));

  const out = resolve(options.out);
  // Figures go beside the page, in `<page name>-figures/` (so an ablation folder keeps its own figures/).
  const figuresDir = `${basename(out).replace(/\.html?$/i, '')}-figures`;
  const figures = new FigureSet();
  const curves = await curveFigures(runs, figures, notes, figuresDir);
  const diffs = runs.length > 1 ? differences(runs, options, notes) : [];
  const sections: PageSection[] = [
    { id: 'runs', title: 'Runs', body: runsTable(runs, differing, short) },
    { id: 'curves', title: 'Training curves', body: curves.length > 0 ? html`${curves}` : html`<p>No run has a training history.</p>` },
    { id: 'metrics', title: 'Final metrics', body: metricsTable(runs) },
    ...(diffs.length > 0 ? [{ id: 'differences', title: `Difference from the first run`, body: differencesTable(diffs, runs[0].label) }] : []),
  ];
  const page = htmlPage({
    title: options.title ?? `Comparison of ${runs.length} runs`,
    subtitle: `First run: ${runs[0].files.dir}`,
    sections,
    notes: [...notes, ...runs.filter((run) => !run.files.metrics).map((run) => `${run.label}: no ${RUN_FILES.metrics} (not finished)`)],
    footer: `Generated by sliceseq ${packageVersion()} from ${runs.map((run) => run.files.dir).join(', ')}.`,
  });
  await figures.writeAll(join(dirname(out), figuresDir));
  writeFileAtomic(out, page);
  return { html: out, runs: runs.map((run) => run.files.dir), notes };
}
