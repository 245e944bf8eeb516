import { writeFileAtomic } from '../core/atomic.ts';
import { packageVersion } from '../core/version.ts';
import { loadDataset, type DatasetConfig } from '../data/datasets/registry.ts';
import type { TransformConfig } from '../data/preprocess.ts';
import { binaryAveragePrecision } from '../metrics/average-precision.ts';
import { multilabelConfusion } from '../metrics/confusion.ts';
import { fbetaThresholdCurve, objectiveThresholdCurve, precisionRecallCurve, rocCurve, thresholdGrid } from '../metrics/curves.ts';
import { column } from '../metrics/matrix.ts';
import { binaryRocAuc } from '../metrics/roc-auc.ts';
import type { ThresholdSet } from '../metrics/thresholds.ts';
import { brierScorePerClass, calibrationError, reliabilityBins } from '../metrics/calibration.ts';
import { reliabilitySpec, type ReliabilityPanel } from './charts/calibration.ts';
import { confusionSpec, type ConfusionPanel } from './charts/confusion.ts';
import { precisionRecallCurvesSpec, rocCurvesSpec, type CurveSeries } from './charts/curves.ts';
import { epochCurvesSpec, SMOOTHING, smoothed, stepCurvesSpec, type EpochPoint, type StepPoint } from './charts/history.ts';
import { sliceStripSpec } from './charts/slices.ts';
import { thresholdCurvesSpec, type ThresholdPanel } from './charts/thresholds.ts';
import { classificationReportCaption, classificationReportCells } from './classification-report.ts';
import { figureHtml, formatNumber as format, html, htmlPage, htmlTable, type PageSection, type SafeHtml } from './html.ts';
import { FigureSet, type RenderedFigure } from './render.ts';
import { fieldAt, numberAt, type JsonObject } from '../core/json.ts';
import { metricKeys, type MetricKey } from '../metrics/scores.ts';
import { RUN_FILES, runPath } from '../runs/layout.ts';
import type { PredictionTable } from '../metrics/prediction-table.ts';
import { readRunFiles, type RunFiles } from '../runs/run-dir.ts';
import { buildSliceStages, type SliceStages } from './slice-stages.ts';
import { labelGroupsSection } from './label-groups.ts';
import { attentionSection, type DatasetSource } from './attention-section.ts';
import { denseMapsSection } from './dense-maps.ts';

/**
 * A run's report: `<run>/report.html`, one self-contained page (inline SVG figures, images as data: URIs, no
 * scripts, nothing fetched), and every figure as SVG and PNG in `<run>/figures/`. It reads only the run
 * directory, so it can be regenerated for old runs, plus the run's dataset for the strip of preprocessed slices.
 */
export interface RunReportOptions {
  /** The dataset's root when it has moved since the run (as `sliceseq run --data`). */
  data?: string;
  /** Draw the strip of preprocessed slices (default true; it reads the dataset). */
  slices?: boolean;
  /** The patient the strip shows (default: the first validation patient with a positive label). */
  patient?: string;
  /** Slices in the strip (default 6, evenly spaced). */
  stripSlices?: number;
  /** Resolution of the F2-against-threshold curves (grid steps over [0, 1], default 100). */
  thresholdSteps?: number;
}

export interface RunReportResult {
  html: string;
  /** Paths of the SVG and PNG files written. */
  figures: string[];
  /** What was left out and why (also listed in the page). */
  notes: string[];
}

/** Strip tiles are drawn 96 px wide; their PNGs keep up to twice that (downscaled, never enlarged) for sharpness. */
const STRIP_TILE = 96;

// ---- training history -------------------------------------------------------------------------------------------

const historyMetrics: readonly MetricKey[] = [metricKeys.f2Samples, metricKeys.f2Micro, metricKeys.f2Macro, metricKeys.aucMacro, metricKeys.apMacro];
const historySplits: ReadonlyArray<[key: string, label: string]> = [
  ['train', 'train'],
  ['val', 'validation'],
];

function historyPoints(files: RunFiles): { losses: EpochPoint[]; metrics: EpochPoint[]; classAuc: EpochPoint[] } {
  const losses: EpochPoint[] = [];
  const metrics: EpochPoint[] = [];
  const classAuc: EpochPoint[] = [];
  for (const record of files.history) {
    const epoch = record.epoch as number;
    const where = `${RUN_FILES.history} epoch ${epoch}`;
    const push = (into: EpochPoint[], series: string, value: number | undefined) => value !== undefined && into.push({ epoch, series, value });
    push(losses, 'train loss', numberAt(record, 'train_loss', where));
    for (const [key, label] of historySplits) {
      if (!record[key] || typeof record[key] !== 'object') continue;
      // The training loss is `train_loss`; a `train` block adds training metrics only.
      if (key !== 'train') push(losses, `${label} loss`, numberAt(record, `${key}.loss`, where));
      for (const { path, title } of historyMetrics) push(metrics, `${title} (${label})`, numberAt(record, `${key}.${path}`, where));
    }
    // Per-class validation ROC-AUC (null where a class has one label value only): a class stuck on a plateau shows.
    const perClass = fieldAt(record, `val.${metricKeys.aucPerClass.path}`);
    if (perClass && typeof perClass === 'object') {
      for (const name of Object.keys(perClass)) push(classAuc, name, numberAt(perClass, name, `${where} val.${metricKeys.aucPerClass.path}`));
    }
  }
  return { losses, metrics, classAuc };
}

async function historyFigures(files: RunFiles, figures: FigureSet, notes: string[]): Promise<SafeHtml> {
  if (files.history.length === 0) {
    notes.push(`training curves: ${RUN_FILES.history} is missing or empty`);
    return html`<p>No training history.</p>`;
  }
  const best = numberAt(files.metrics, 'best_epoch', RUN_FILES.metrics) ?? null;
  const { losses, metrics, classAuc } = historyPoints(files);
  const bestText = best !== null ? ` The dashed rule marks the best epoch (${best}), whose weights were evaluated.` : '';
  const parts: RenderedFigure[] = [];
  if (losses.length > 0) {
    parts.push(await figures.add('loss', epochCurvesSpec(losses, { title: 'Loss per epoch', yTitle: 'mean loss', bestEpoch: best }), `Training and validation loss per epoch.${bestText}`));
  }
  if (metrics.length > 0) {
    parts.push(
      await figures.add(
        'metrics',
        epochCurvesSpec(metrics, { title: 'Metrics per epoch', yTitle: 'score', bestEpoch: best, unitRange: true }),
        `F2 (threshold 0.5), ROC-AUC and average precision per epoch.${bestText}`,
      ),
    );
  }
  if (classAuc.length > 0) {
    parts.push(
      await figures.add(
        'auc-per-class',
        epochCurvesSpec(classAuc, { title: 'Validation ROC-AUC per class', yTitle: 'ROC-AUC', bestEpoch: best, unitRange: true }),
        `Each class's validation ROC-AUC per epoch (a class whose validation labels are all equal has none), so a class that stays on a plateau while others separate shows.${bestText}`,
      ),
    );
  }
  parts.push(...(await stepFigures(files, figures)));
  return html`${parts.map(figureHtml)}${epochTimingTable(files)}`;
}

const smoothedSeries = `moving average (${SMOOTHING})`;

/** The learning-rate schedule and the per-step training loss (steps.jsonl; older runs: the learning rate per epoch from history.jsonl). */
async function stepFigures(files: RunFiles, figures: FigureSet): Promise<RenderedFigure[]> {
  const steps = files.steps ?? [];
  const epochEnds = files.history.map((record) => record.step).filter((step): step is number => typeof step === 'number');
  const parts: RenderedFigure[] = [];
  if (steps.length > 0) {
    const stride = steps.length > 1 ? steps[1].step - steps[0].step : 1;
    const kept = stride > 1 ? `every ${stride}th step (${RUN_FILES.steps} keeps at most 10,000)` : 'every step';
    parts.push(
      await figures.add(
        'learning-rate',
        stepCurvesSpec(steps.map((s) => ({ step: s.step, series: 'learning rate', value: s.learning_rate })), { title: 'Learning rate', yTitle: 'learning rate', epochEnds, yFormat: '.2~e', interpolate: 'step-after' }),
        `The learning rate of ${kept}, as the schedule set it; grey rules mark the end of each epoch.`,
      ),
    );
    const loss = steps.map((s) => s.loss);
    const average = smoothed(loss, SMOOTHING);
    const points: StepPoint[] = [
      ...steps.map((s, i) => ({ step: s.step, series: 'loss per step', value: loss[i] })),
      ...steps.map((s, i) => ({ step: s.step, series: smoothedSeries, value: average[i] })),
    ];
    parts.push(
      await figures.add(
        'step-loss',
        stepCurvesSpec(points, { title: 'Training loss per step', yTitle: 'loss', epochEnds, highlight: smoothedSeries }),
        `The training loss of ${kept} (light) and its exponential moving average with weight ${SMOOTHING}, debiased, as TensorBoard smooths by default (dark); grey rules mark the end of each epoch.`,
      ),
    );
  } else {
    const rates: EpochPoint[] = files.history
      .filter((record) => typeof record.learning_rate === 'number')
      .map((record) => ({ epoch: record.epoch, series: 'learning rate', value: record.learning_rate as number }));
    if (rates.length > 0) {
      parts.push(await figures.add('learning-rate', epochCurvesSpec(rates, { title: 'Learning rate', yTitle: 'learning rate' }), `The learning rate of each epoch (${RUN_FILES.history}; this run has no ${RUN_FILES.steps}).`));
    }
  }
  return parts;
}

/** Per epoch: wall time, training slices per second and the share of the training pass spent waiting for data. */
function epochTimingTable(files: RunFiles): SafeHtml | '' {
  const rows = files.history
    .filter((record) => record.epoch_seconds !== undefined)
    .map((record) => {
      const where = `history.jsonl epoch ${record.epoch as number}`;
      const wait = numberAt(record, 'data_wait_fraction', where);
      return [
        String(record.epoch),
        format(numberAt(record, 'epoch_seconds', where), 1),
        format(numberAt(record, 'train_slices_per_second', where), 1),
        wait === undefined ? '—' : `${(100 * wait).toFixed(1)}%`,
      ];
    });
  if (rows.length === 0) return '';
  return htmlTable(['epoch', 'wall time (s)', 'training slices/s', 'waiting for data'], rows, {
    caption: 'Time per epoch (history.jsonl): waiting for data is the share of the training pass in which the model waited for the loader.',
  });
}

// ---- ranking curves, thresholds, confusion ------------------------------------------------------------------------

/** The split the held-out figures use: test when the run has one, else validation (said in the captions). */
function heldOut(files: RunFiles): { predictions: PredictionTable; split: string } | undefined {
  if (files.test) return { predictions: files.test, split: 'test' };
  if (files.validation) return { predictions: files.validation, split: 'validation' };
  return undefined;
}

async function rankingFigures(files: RunFiles, figures: FigureSet, notes: string[]): Promise<SafeHtml> {
  const chosen = heldOut(files);
  if (!chosen) {
    notes.push(`ROC and precision-recall curves: no predictions with targets (${RUN_FILES.predictionsTest} / ${RUN_FILES.predictionsValidation}) for the binary classes`);
    return html`<p>No predictions to draw curves from.</p>`;
  }
  const { predictions, split } = chosen;
  const roc: CurveSeries[] = [];
  const pr: CurveSeries[] = [];
  const undefinedRoc: string[] = [];
  const undefinedPr: string[] = [];
  predictions.columns.forEach((name, j) => {
    const scores = column(predictions.scores, j);
    const labels = column(predictions.targets(), j);
    const rocPoints = rocCurve(scores, labels);
    if (rocPoints) {
      const points = Array.from(rocPoints.falsePositiveRate, (x, i) => ({ x, y: rocPoints.truePositiveRate[i] }));
      roc.push({ label: `${name} (AUC ${format(binaryRocAuc(scores, labels)!, 3)})`, points });
    } else undefinedRoc.push(name);
    const prPoints = precisionRecallCurve(scores, labels);
    if (prPoints) {
      const points = Array.from(prPoints.recall, (x, i) => ({ x, y: prPoints.precision[i] }));
      pr.push({ label: `${name} (AP ${format(binaryAveragePrecision(scores, labels)!, 3)})`, points });
    } else undefinedPr.push(name);
  });
  if (undefinedRoc.length > 0) notes.push(`ROC curve undefined on ${split} (one label value only) for: ${undefinedRoc.join(', ')}`);
  if (undefinedPr.length > 0) notes.push(`precision-recall curve undefined on ${split} (no positive label) for: ${undefinedPr.join(', ')}`);
  const rows = `${predictions.scores.rows} ${split} rows`;
  const parts: RenderedFigure[] = [];
  if (roc.length > 0) parts.push(await figures.add('roc', rocCurvesSpec(roc, `ROC curves (${split})`), `ROC curve per class on ${rows}; the legend gives each class's ROC-AUC.`));
  if (pr.length > 0) {
    parts.push(await figures.add('precision-recall', precisionRecallCurvesSpec(pr, `Precision-recall curves (${split})`), `Precision-recall curve per class on ${rows}; the legend gives each class's average precision.`));
  }
  return parts.length > 0 ? html`${parts.map(figureHtml)}` : html`<p>Every class's curves are undefined on this split.</p>`;
}

async function thresholdFigure(files: RunFiles, figures: FigureSet, notes: string[], steps: number): Promise<SafeHtml> {
  const set = files.thresholds;
  const predictions = files.validation;
  if (!set || !predictions) {
    notes.push(`F2 against threshold: needs ${!set ? RUN_FILES.thresholds : RUN_FILES.predictionsValidation}`);
    return html`<p>No tuned thresholds or validation predictions.</p>`;
  }
  const { beta, average, zeroDivision } = set.objective;
  const metric = `F${beta}`;
  const panels: ThresholdPanel[] = set.classes.map((className, j) => {
    const grid = thresholdGrid(steps, [set.thresholds[j], 0.5]);
    return {
      className,
      curves: [
        { series: `${metric} of the class`, thresholds: grid, values: fbetaThresholdCurve(column(predictions.scores, j), column(predictions.targets(), j), grid, { beta, zeroDivision }) },
        { series: `${metric} ${average} (objective)`, thresholds: grid, values: objectiveThresholdCurve(predictions.scores, predictions.targets(), set.thresholds, j, grid, { beta, average, zeroDivision }) },
      ],
      // The tuned rule last, so it is drawn over the 0.5 rule where they coincide.
      markers: [
        { series: 'threshold 0.5', threshold: 0.5 },
        { series: 'tuned threshold', threshold: set.thresholds[j] },
      ],
    };
  });
  const figure = await figures.add(
    'f2-threshold',
    thresholdCurvesSpec(panels, `${metric} against threshold (validation)`, metric),
    `${metric} against the decision threshold on ${predictions.scores.rows} validation rows (the predictions the ${set.kind} thresholds were fitted on). ` +
      `The objective curve moves one class's threshold while the others stay at their tuned values; its maximum is the tuned threshold.`,
  );
  return figureHtml(figure);
}

function confusionPanels(predictions: PredictionTable, set: ThresholdSet | undefined): ConfusionPanel[] {
  const settings: Array<{ label: string; thresholds: number | number[] }> = [
    ...(set ? [{ label: 'tuned thresholds', thresholds: set.thresholds }] : []),
    { label: 'threshold 0.5', thresholds: 0.5 },
  ];
  return settings.flatMap(({ label, thresholds }) =>
    multilabelConfusion(predictions.scores, predictions.targets(), thresholds).map((counts, j) => ({
      className: set ? `${predictions.columns[j]}\nt = ${format(set.thresholds[j], 3)}` : predictions.columns[j],
      setting: label,
      counts,
    })),
  );
}

async function confusionFigure(files: RunFiles, figures: FigureSet, notes: string[]): Promise<SafeHtml> {
  const chosen = heldOut(files);
  if (!chosen) {
    notes.push('confusion matrices: no predictions with targets');
    return html`<p>No predictions.</p>`;
  }
  if (!files.thresholds) notes.push('confusion matrices: thresholds.json is missing, so only threshold 0.5 is shown');
  const figure = await figures.add(
    'confusion',
    confusionSpec(confusionPanels(chosen.predictions, files.thresholds), `Confusion matrices (${chosen.split})`),
    `Per-class confusion on ${chosen.predictions.scores.rows} ${chosen.split} rows at the tuned thresholds (column headers give each) and at 0.5; cells are shaded by the share of their true row.`,
  );
  return figureHtml(figure);
}

/** Reliability bins per class and pooled over every class, with each panel's ECE and Brier score (the registered metrics' functions). */
async function calibrationFigure(files: RunFiles, figures: FigureSet, notes: string[]): Promise<SafeHtml> {
  const chosen = heldOut(files);
  if (!chosen) {
    notes.push('reliability diagrams: no predictions with targets');
    return html`<p>No predictions.</p>`;
  }
  const { predictions, split } = chosen;
  const { scores, columns: classes } = predictions;
  const targets = predictions.targets();
  const brier = brierScorePerClass(scores, targets);
  const pooledName = classes.length > 1 ? 'all classes (pooled)' : undefined;
  const panels: ReliabilityPanel[] = [
    ...classes.map((name, j) => ({ name, bins: reliabilityBins(column(scores, j), column(targets, j)) })),
    ...(pooledName ? [{ name: pooledName, bins: reliabilityBins(scores.data, targets.data) }] : []),
  ];
  const pooledBrier = brier.reduce((sum, v) => sum + v, 0) / brier.length;
  const figure = await figures.add(
    'reliability',
    reliabilitySpec(panels, `Reliability diagrams (${split})`),
    `Calibration on ${scores.rows} ${split} rows: per bin of predicted probability (10 equal-width bins; point area = rows), the fraction that was positive. ` +
      'A calibrated model stays on the dashed diagonal: among cases scored 0.8, 80% are positive. Below the diagonal the model is over-confident.',
  );
  const rows = panels.map((panel, j) => [
    panel.name,
    format(calibrationError(panel.bins)),
    // The pooled Brier score over every cell equals the mean of the per-class scores (each class has the same rows).
    format(j < classes.length ? brier[j] : pooledBrier),
  ]);
  return html`${figureHtml(figure)}${htmlTable(['class', 'ECE', 'Brier'], rows, {
    caption: `Expected calibration error (count-weighted mean gap between the bin's fraction positive and mean probability) and Brier score (mean squared error of the probability) on the ${split} split.`,
  })}`;
}

function classificationTable(files: RunFiles, notes: string[]): SafeHtml {
  const report = files.classificationReport;
  if (!report) {
    notes.push(`classification report: ${RUN_FILES.classificationReport}.json is missing (written when the run has test predictions)`);
    return html`<p>No classification report.</p>`;
  }
  const { titles, body } = classificationReportCells(report);
  return htmlTable(titles, body, { caption: `Test split: ${classificationReportCaption(report)}` });
}

// ---- summary ------------------------------------------------------------------------------------------------------

const atHalf = (key: MetricKey): [title: string, path: string] => [`${key.title} @0.5`, key.path];
const titled = (key: MetricKey): [title: string, path: string] => [key.title, key.path];
const summaryColumns: ReadonlyArray<[title: string, path: string]> = [
  titled(metricKeys.rows),
  titled(metricKeys.loss),
  atHalf(metricKeys.f2Samples),
  titled(metricKeys.f2TunedSamples),
  atHalf(metricKeys.f2Micro),
  titled(metricKeys.f2TunedMicro),
  atHalf(metricKeys.f2Macro),
  titled(metricKeys.f2TunedMacro),
  titled(metricKeys.aucMacro),
  titled(metricKeys.apMacro),
  titled(metricKeys.logloss),
  titled(metricKeys.brier),
  titled(metricKeys.ece),
  titled(metricKeys.categoricalAuc),
  titled(metricKeys.ordinalAccuracy),
  titled(metricKeys.qwk),
];

function metricsTable(metrics: JsonObject): SafeHtml {
  const blocks: Array<[label: string, key: string]> = [
    ['validation', 'val'],
    ['test', 'test'],
    ['all-positive baseline (test)', 'baseline'],
  ];
  const present = blocks.filter(([, key]) => metrics[key] && typeof metrics[key] === 'object');
  const blockValue = (key: string, path: string) => numberAt(metrics, `${key}.${path}`, RUN_FILES.metrics);
  const columns = summaryColumns.filter(([, path]) => present.some(([, key]) => blockValue(key, path) !== undefined));
  return htmlTable(
    ['split', ...columns.map(([title]) => title)],
    present.map(([label, key]) => [label, ...columns.map(([, path]) => (path === 'rows' ? format(blockValue(key, path), 0) : format(blockValue(key, path))))]),
    { caption: `From ${RUN_FILES.metrics}: the best epoch evaluated; tuned = per-class thresholds fitted on validation predictions only.` },
  );
}

function environmentTable(files: RunFiles): SafeHtml {
  const env = files.environment ?? {};
  const text = (path: string) => {
    const value = fieldAt(env, path);
    return value === undefined || value === null ? '—' : typeof value === 'object' ? JSON.stringify(value) : String(value);
  };
  const count = (path: string) => {
    const value = fieldAt(env, path);
    return Array.isArray(value) ? String(value.length) : '—';
  };
  const rows: Array<[string, string]> = [
    ['sliceseq', text('sliceseq')],
    ['node / tfjs', `${text('node')} / ${text('tfjs')}`],
    ['backend', `${text('backend')} (${text('device')})`],
    ['seed', text('seed')],
    ['data', `${text('data.source')} (fingerprint ${text('data.fingerprint')}, ${text('data.patients')} patients)`],
    ['split (patients)', `train ${count('split.train')}, validation ${count('split.val')}, test ${count('split.test')}`],
  ];
  return htmlTable([], rows, { alignNumbers: false });
}

function summarySection(files: RunFiles, notes: string[]): SafeHtml {
  const stopped = fieldAt(files.metrics, 'stopped');
  const best = fieldAt(files.metrics, 'best_epoch');
  const lastEpoch = files.history.at(-1)?.epoch;
  if (!files.metrics) notes.push(`${RUN_FILES.metrics} is missing: the run did not finish (the report shows what it has)`);
  return html`
${files.metrics ? html`<p>Best epoch ${String(best ?? '—')} of ${String(lastEpoch ?? '—')}${stopped ? html`; stopped early: ${String(stopped)}` : ''}.</p>${metricsTable(files.metrics)}` : html`<p>No ${RUN_FILES.metrics}.</p>`}
<h3>Environment</h3>
${files.environment ? environmentTable(files) : html`<p>No ${RUN_FILES.environment}.</p>`}
${files.config ? html`<details><summary>${RUN_FILES.config}</summary><pre>${JSON.stringify(files.config, null, 2)}</pre></details>` : ''}`;
}

// ---- slices -------------------------------------------------------------------------------------------------------

/** Loads the run's dataset once, for the slice strip and the attention heatmaps; says why when it cannot. */
function runDataset(files: RunFiles, options: RunReportOptions): DatasetSource {
  let loading: ReturnType<DatasetSource> | undefined;
  return () => {
    loading ??= (async () => {
      const dataset = fieldAt(files.config, 'data.dataset') as DatasetConfig | undefined;
      if (!dataset || typeof dataset.name !== 'string') return { unavailable: `${RUN_FILES.config} names no dataset (data.dataset)` };
      const indexDir = fieldAt(files.config, 'data.indexDir');
      try {
        return await loadDataset(options.data ? { ...dataset, root: options.data } : dataset, typeof indexDir === 'string' || indexDir === null ? { cacheDir: indexDir } : {});
      } catch (error) {
        return { unavailable: `the dataset is not available (${(error as Error).message}); pass its folder (sliceseq report --data DIR) if it has moved` };
      }
    })();
    return loading;
  };
}

async function sliceFigure(files: RunFiles, figures: FigureSet, notes: string[], options: RunReportOptions, dataset: DatasetSource): Promise<SafeHtml> {
  const skip = (why: string) => {
    notes.push(`slice strip skipped: ${why}`);
    return html`<p>Slice strip not drawn: ${why}.</p>`;
  };
  if (options.slices === false) return skip('turned off for this report');
  const loaded = await dataset();
  if ('unavailable' in loaded) return skip(loaded.unavailable);
  const candidates = fieldAt(files.environment, 'split.val');
  let stages: SliceStages;
  try {
    stages = await buildSliceStages(loaded, {
      preprocess: (fieldAt(files.config, 'data.preprocess') as TransformConfig[] | undefined) ?? [],
      seed: numberAt(files.config, 'seed', RUN_FILES.config) ?? 0,
      augmentPerSlice: fieldAt(files.config, 'data.augmentPerSlice') === true,
      candidates: Array.isArray(candidates) ? candidates.map(String) : [],
      ...(options.patient !== undefined ? { patient: options.patient } : {}),
      ...(options.stripSlices !== undefined ? { maxSlices: options.stripSlices } : {}),
      tileSize: 2 * STRIP_TILE,
    });
  } catch (error) {
    return skip(`could not draw it (${(error as Error).message})`);
  }
  notes.push(...stages.notes.map((note) => `slice strip: ${note}`));
  const columnLabels = stages.sliceIndices.map((i) => `slice ${i + 1}/${stages.sliceCount}`);
  const rows = stages.rows.map((row) => ({ label: row.label, images: row.tiles.map((png) => `data:image/png;base64,${png.toString('base64')}`) }));
  const figure = await figures.add(
    'slices',
    sliceStripSpec(rows, columnLabels, `Preprocessing of patient ${stages.patientId}`, STRIP_TILE),
    `Validation patient ${stages.patientId}: ${stages.sliceIndices.length} of its ${stages.sliceCount} slices through this run's preprocessing, ` +
      'one row per stage (each window channel on its own, CLAHE before and after, one seeded augmentation draw).',
  );
  return figureHtml(figure);
}

// ---- the page -----------------------------------------------------------------------------------------------------

/** Writes `<runDir>/report.html` and `<runDir>/figures/*.{svg,png}` from the run directory's files. */
export async function writeRunReport(runDir: string, options: RunReportOptions = {}): Promise<RunReportResult> {
  const files = await readRunFiles(runDir);
  const notes: string[] = [];
  const figures = new FigureSet();
  const groups = await labelGroupsSection(files, figures);
  const dataset = runDataset(files, options);
  const attention = await attentionSection(files, figures, notes, dataset, { slices: options.slices !== false });
  const denseMaps = await denseMapsSection(files, figures);
  // A schema of only categorical/ordinal groups has no binary labels to draw curves, thresholds or a report for.
  const binary = files.classes.length > 0 || (!groups && !denseMaps);
  const sections: PageSection[] = [
    { id: 'summary', title: 'Summary', body: summarySection(files, notes) },
    { id: 'training', title: 'Training', body: await historyFigures(files, figures, notes) },
    ...(binary
      ? [
          { id: 'ranking', title: 'ROC and precision-recall', body: await rankingFigures(files, figures, notes) },
          { id: 'thresholds', title: 'Thresholds', body: await thresholdFigure(files, figures, notes, options.thresholdSteps ?? 100) },
          { id: 'confusion', title: 'Confusion matrices', body: await confusionFigure(files, figures, notes) },
          { id: 'calibration', title: 'Calibration', body: await calibrationFigure(files, figures, notes) },
          { id: 'classification-report', title: 'Classification report', body: classificationTable(files, notes) },
        ]
      : []),
    ...(groups ? [{ id: 'label-groups', title: 'Categorical and ordinal groups', body: groups }] : []),
    ...(attention ? [{ id: 'class-attention', title: 'Class attention over the slices', body: attention }] : []),
    ...(denseMaps ? [{ id: 'dense-maps', title: 'Dense grade maps', body: denseMaps }] : []),
    { id: 'slices', title: 'Slices after preprocessing', body: await sliceFigure(files, figures, notes, options, dataset) },
  ];
  const written = await figures.writeAll(runPath(files.dir, 'figures'));
  const name = typeof files.config?.name === 'string' ? files.config.name : undefined;
  const description = typeof files.config?.description === 'string' ? files.config.description : '';
  const page = htmlPage({
    title: `Run ${files.name}`,
    subtitle: [name ? `experiment ${name}` : '', description].filter(Boolean).join(': '),
    sections,
    notes: [...files.missing.map((file) => `${file} is not in the run directory`), ...notes],
    footer: `Generated by sliceseq ${packageVersion()} from ${files.dir}.`,
  });
  const htmlPath = runPath(files.dir, 'report');
  writeFileAtomic(htmlPath, page);
  return { html: htmlPath, figures: written, notes };
}
