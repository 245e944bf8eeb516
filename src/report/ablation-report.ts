import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../core/atomic.ts';
import { packageVersion } from '../core/version.ts';
import { readAblationSummary, type AblationSummary } from '../runs/ablation-summary.ts';
import { ablationPath, runPath } from '../runs/layout.ts';
import { writeComparison } from './compare.ts';
import { meanConfidenceInterval } from '../metrics/student-t.ts';
import { ablationDifferencesSpec, ablationValuesSpec, type VariantDifference, type VariantValues } from './charts/ablation.ts';
import { figureHtml, formatNumber, html, htmlPage, htmlTable } from './html.ts';
import { FigureSet } from './render.ts';
import { metricTitle } from '../metrics/scores.ts';

/**
 * The report of an ablation: `<dir>/report.html` and `<dir>/figures/*.{svg,png}` from `<dir>/ablation-summary.json`.
 * Per metric, each variant's mean with its interval and every trial as a dot; each variant's difference from the
 * reference with its paired-bootstrap interval; and the significance table.
 */

export type AblationReportSummary = AblationSummary;
export type AblationReportVariant = AblationSummary['variants'][number];

/** Display names come from the metric-key table; other keys show as they are. */
const metricName = metricTitle;

/** Metric keys in display order: the summary's own order, then any other key the variants hold. */
function metricKeys(summary: AblationReportSummary): string[] {
  const seen = [...new Set(summary.variants.flatMap((v) => Object.keys(v.metrics)))];
  return [...summary.metrics, ...seen.filter((key) => !summary.metrics.includes(key))];
}

const interval = (lower: number | null | undefined, upper: number | null | undefined, sign = false) =>
  lower === null || lower === undefined || upper === null || upper === undefined ? '—' : `[${formatNumber(lower, 4, { sign })}, ${formatNumber(upper, 4, { sign })}]`;

const variantLabel = (summary: AblationReportSummary, name: string) => (name === summary.reference ? `${name} (reference)` : name);

const trialLabel = (trial: AblationReportVariant['trials'][number]) => `seed ${trial.seed}${trial.fold !== undefined ? ` fold ${trial.fold}` : ''}`;

/** The trials' defined values of one metric. */
const trialValues = (variant: AblationReportVariant, metric: string) =>
  variant.trials.flatMap((trial) => {
    const value = trial.values[metric];
    return value === null || value === undefined ? [] : [{ label: trialLabel(trial), value }];
  });

/** The interval around a variant's mean: the summary's own, else the t interval over its trials (none for one trial). */
function meanInterval(summary: AblationReportSummary, variant: AblationReportVariant, metric: string): { lower: number | null; upper: number | null } {
  const given = variant.metrics[metric]?.ci;
  if (given) return given;
  const t = meanConfidenceInterval(trialValues(variant, metric).map((trial) => trial.value), summary.confidence);
  return { lower: t?.lower ?? null, upper: t?.upper ?? null };
}

function chartValues(summary: AblationReportSummary, metrics: readonly string[]): VariantValues[] {
  return summary.variants.flatMap((variant) =>
    metrics
      .filter((metric) => variant.metrics[metric])
      .map((metric) => {
        return {
          metric: metricName(metric),
          variant: variantLabel(summary, variant.name),
          trials: trialValues(variant, metric),
          mean: variant.metrics[metric].mean,
          ...meanInterval(summary, variant, metric),
        };
      }),
  );
}

function chartDifferences(summary: AblationReportSummary, metrics: readonly string[], alpha: number): VariantDifference[] {
  return summary.variants.flatMap((variant) =>
    metrics.flatMap((metric) => {
      const comparison = variant.metrics[metric]?.vsReference;
      if (variant.name === summary.reference || !comparison || comparison.difference === null) return [];
      return [
        {
          metric: metricName(metric),
          variant: variant.name,
          difference: comparison.difference,
          lower: comparison.lower,
          upper: comparison.upper,
          significant: comparison.pValue !== null && comparison.pValue < alpha,
        },
      ];
    }),
  );
}

function variantsTable(summary: AblationReportSummary) {
  return htmlTable(
    ['variant', 'overrides', 'finished trials', 'missing trials', 'paired with the reference'],
    summary.variants.map((variant) => [
      variantLabel(summary, variant.name),
      Object.entries(variant.overrides)
        .map(([path, value]) => `${path} = ${JSON.stringify(value)}`)
        .join('; ') || '—',
      variant.trials.map(trialLabel).join(', ') || '—',
      variant.missing?.join(', ') || '—',
      variant.pairing ? `${variant.pairing.pairs.length} seed/fold pair(s), ${variant.pairing.rows} rows of ${variant.pairing.patients} patients` : '—',
    ]),
  );
}

/** One line of what the summary is: split, thresholds, seeds and folds, bootstrap, progress. */
function describeSummary(summary: AblationReportSummary): string {
  const parts = [
    summary.description ?? '',
    summary.split ? `${summary.split} split` : '',
    summary.thresholds ? `F2 at ${summary.thresholds === 'tuned' ? 'thresholds tuned on each run’s validation split' : 'threshold 0.5'}` : '',
    summary.seeds ? `seeds ${summary.seeds.join(', ')}${summary.folds && summary.folds > 1 ? ` × ${summary.folds} folds` : ''}` : '',
    summary.bootstrap ? `paired bootstrap: ${summary.bootstrap.resamples} resamples of patients (seed ${summary.bootstrap.seed})` : '',
    summary.trials ? `${summary.trials.finished} of ${summary.trials.planned} trials finished` : '',
  ];
  return parts.filter(Boolean).join('; ');
}

function significanceTable(summary: AblationReportSummary, metrics: readonly string[], alpha: number) {
  const level = `${Math.round(summary.confidence * 100)}%`;
  const rows = summary.variants.flatMap((variant) =>
    metrics
      .filter((metric) => variant.metrics[metric])
      .map((metric) => {
        const stats = variant.metrics[metric];
        const comparison = variant.name === summary.reference ? undefined : stats.vsReference;
        const pValue = comparison?.pValue ?? null;
        return [
          variantLabel(summary, variant.name),
          metricName(metric),
          `${formatNumber(stats.mean)} ± ${formatNumber(stats.std)}`,
          interval(meanInterval(summary, variant, metric).lower, meanInterval(summary, variant, metric).upper),
          formatNumber(comparison?.difference, 4, { sign: true }),
          interval(comparison?.lower, comparison?.upper, true),
          formatNumber(pValue),
          pValue === null ? '—' : pValue < alpha ? 'yes' : 'no',
        ];
      }),
  );
  return htmlTable(['variant', 'metric', 'mean ± std', `${level} interval`, 'Δ vs reference', `${level} paired-bootstrap interval of Δ`, 'p-value', `p < ${alpha}`], rows, {
    caption: `Mean and standard deviation over each variant's trials, the interval of the mean (t over trials unless the summary gives one); Δ = variant − ${summary.reference}, paired bootstrap over patients.`,
  });
}

/** Writes `<dir>/report.html` and `<dir>/figures/ablation-*.{svg,png}` from `<dir>/ablation-summary.json`. */
export async function writeAblationReport(dir: string): Promise<{ html: string; figures: string[] }> {
  const root = resolve(dir);
  const summary = readAblationSummary(root);
  const metrics = metricKeys(summary);
  const alpha = Number((1 - summary.confidence).toFixed(6));
  const order = { metrics: metrics.map(metricName), variants: summary.variants.map((v) => variantLabel(summary, v.name)) };
  const split = summary.split ? ` (${summary.split})` : '';
  const figures = new FigureSet();
  const values = await figures.add(
    'ablation-values',
    ablationValuesSpec(chartValues(summary, metrics), order, `Metrics per variant${split}`),
    `Each variant's mean (diamond) with the ${Math.round(summary.confidence * 100)}% interval of its mean (bar), and every trial (seed/fold) as a dot.`,
  );
  const differences = chartDifferences(summary, metrics, alpha);
  const differenceFigure =
    differences.length > 0
      ? await figures.add(
          'ablation-differences',
          ablationDifferencesSpec(differences, { ...order, variants: summary.variants.filter((v) => v.name !== summary.reference).map((v) => v.name) }, `Difference from ${summary.reference}${split}`, `p < ${alpha}`),
          `Each variant minus the reference (${summary.reference}) with its paired-bootstrap interval; red where p < ${alpha}.`,
        )
      : undefined;
  const notes = [
    ...(differenceFigure ? [] : ['no variant has a comparison with the reference (vsReference) yet, so there is no difference chart']),
    ...summary.variants.filter((v) => v.missing && v.missing.length > 0).map((v) => `${v.name}: ${v.missing!.length} trial(s) not finished (${v.missing!.join(', ')})`),
  ];
  // The trials' curves side by side (reference first): compare.html beside this page.
  const trialDirs = summary.variants.flatMap((variant) => variant.trials.map((trial) => join(root, trial.runDir)));
  const present = trialDirs.filter((dir) => existsSync(runPath(dir, 'config')));
  if (present.length < trialDirs.length) notes.push(`${trialDirs.length - present.length} trial run directories are not here, so compare.html leaves them out`);
  const comparison = present.length > 0 ? await writeComparison(present, { out: ablationPath(root, 'compare'), title: `Trials of ablation ${summary.name ?? root}` }) : undefined;
  const page = htmlPage({
    title: `Ablation ${summary.name ?? root}`,
    subtitle: `${summary.variants.length} variants against the reference ${summary.reference}. ${describeSummary(summary)}`,
    sections: [
      {
        id: 'variants',
        title: 'Variants',
        body: html`${variantsTable(summary)}${comparison ? html`<p>Training curves of every trial, overlaid, and their final metrics: <a href="compare.html">compare.html</a>.</p>` : ''}`,
      },
      { id: 'values', title: 'Metrics per variant', body: figureHtml(values) },
      { id: 'differences', title: 'Difference from the reference', body: html`${differenceFigure ? figureHtml(differenceFigure) : ''}${significanceTable(summary, metrics, alpha)}` },
    ],
    notes,
    footer: `Generated by sliceseq ${packageVersion()} from ${ablationPath(root, 'summaryJson')}.`,
  });
  const written = await figures.writeAll(ablationPath(root, 'figures'));
  const htmlPath = ablationPath(root, 'report');
  writeFileAtomic(htmlPath, page);
  return { html: htmlPath, figures: written };
}
