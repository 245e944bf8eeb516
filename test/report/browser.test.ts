import { copyFileSync, cpSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runExperiment } from '../../src/experiments/run.ts';
import labelDecoders from '../../experiments/ablation-label-decoders.ts';
import { parseAblation, planAblation, trialExperiment } from '../../src/experiments/ablation.ts';
import { writeAblationReport } from '../../src/report/ablation-report.ts';
import { writeComparison } from '../../src/report/compare.ts';
import { writeRunReport } from '../../src/report/run-report.ts';
import { resolveExperiment } from '../../src/experiments/run.ts';
import { tinyDemoData, tinyExperiment } from '../train/helpers.ts';
import { writeSyntheticRun } from './run-report-fixture.ts';

/**
 * The reports as a reader sees them: each page opened in headless Chromium (Debian's), with no console error, no
 * request leaving the page's folder, no script, and every figure drawn (its data marks have a size on screen).
 */
const CHROMIUM = '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
const title = available
  ? 'report pages in headless Chromium'
  : `report pages in headless Chromium — SKIPPED: ${CHROMIUM} is not installed (apt-get install -y chromium fonts-dejavu-core)`;
if (!available) console.warn(`browser tests skipped: ${CHROMIUM} is not installed (apt-get install -y chromium fonts-dejavu-core)`);

interface PageCheck {
  errors: string[];
  requests: string[];
  dialogs: string[];
  scripts: number;
  /** Per figure: its name and how many of its data marks have a non-empty box. */
  figures: Array<{ name: string; drawn: number; width: number }>;
  text: string;
}

async function openReport(context: BrowserContext, htmlPath: string, screenshot: string): Promise<PageCheck> {
  const page = await context.newPage();
  const check: PageCheck = { errors: [], requests: [], dialogs: [], scripts: 0, figures: [], text: '' };
  page.on('console', (message) => message.type() === 'error' && check.errors.push(message.text()));
  page.on('pageerror', (error) => check.errors.push(String(error)));
  page.on('request', (request) => !/^(file|data):/.test(request.url()) && check.requests.push(request.url()));
  page.on('dialog', (dialog) => {
    check.dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  await page.goto(pathToFileURL(htmlPath).href, { waitUntil: 'load' });
  check.scripts = await page.locator('script').count();
  check.figures = await page.$$eval('figure[data-figure]', (figures) =>
    figures.map((figure) => {
      const svg = figure.querySelector('svg');
      const marks = svg ? [...svg.querySelectorAll('.role-mark > *')] : [];
      const drawn = marks.filter((mark) => {
        // An SVG element (the test's types have no DOM library).
        const box = (mark as unknown as { getBBox(): { width: number; height: number } }).getBBox();
        return box.width > 0 || box.height > 0;
      }).length;
      return { name: figure.getAttribute('data-figure') ?? '', drawn, width: svg?.getBoundingClientRect().width ?? 0 };
    }),
  );
  check.text = await page.locator('body').innerText();
  await page.screenshot({ path: screenshot, fullPage: true });
  await page.close();
  return check;
}

describe.skipIf(!available)(title, () => {
  let context: BrowserContext;
  const screenshots = mkdtempSync(join(tmpdir(), 'sliceseq-screenshots-'));
  const reports: Record<string, string> = {};

  beforeAll(async () => {
    const { data } = await tinyDemoData();
    const { runDir } = await runExperiment(tinyExperiment(data), { out: join(data, '..', 'runs') });
    reports.run = (await writeRunReport(runDir)).html;
    reports.hostile = (await writeRunReport(writeSyntheticRun({ classes: ['<script>alert(1)</script>', 'b'], description: '<img src=x onerror="alert(2)">' }))).html;
    const ablation = mkdtempSync(join(tmpdir(), 'ablation-'));
    copyFileSync(new URL('../fixtures/report/ablation-summary.json', import.meta.url), join(ablation, 'ablation-summary.json'));
    reports.ablation = (await writeAblationReport(ablation)).html;
    // The label-decoder ablation's trials (--quick: one seed, seven decoders), each as a run directory with the
    // trial's resolved config.json and synthetic results (training them all is for `sliceseq ablate`, not a test).
    const plan = planAblation(parseAblation(labelDecoders), { quick: true });
    const trials = mkdtempSync(join(tmpdir(), 'decoders-'));
    const trialDirs = plan.trials.map((trial, i) => {
      const config = resolveExperiment(trialExperiment(plan, trial), {}) as unknown as { name: string; seed: number };
      const dir = join(trials, trial.name);
      cpSync(writeSyntheticRun({ classes: ['epidural', 'subdural', 'any'], seed: i, offset: 0.03 * i, config }), dir, { recursive: true });
      return dir;
    });
    reports.compare = (await writeComparison(trialDirs, { out: join(trials, 'compare.html'), resamples: 100 })).html;
    context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'chromium-profile-')), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 900 },
    });
  });

  afterAll(async () => {
    await context?.close();
  });

  it('draws every figure of a real run report, offline and without errors', async () => {
    const screenshot = join(screenshots, 'run-report.png');
    const check = await openReport(context, reports.run, screenshot);
    console.info(`run report screenshot: ${screenshot}`);
    expect(check.errors).toEqual([]);
    expect(check.requests).toEqual([]);
    expect(check.scripts).toBe(0);
    expect(check.figures.map((f) => f.name)).toEqual(['loss', 'metrics', 'auc-per-class', 'learning-rate', 'step-loss', 'roc', 'precision-recall', 'f2-threshold', 'confusion', 'reliability', 'slices']);
    for (const figure of check.figures) {
      expect(figure.drawn, `${figure.name} draws nothing`).toBeGreaterThan(0);
      expect(figure.width, figure.name).toBeGreaterThan(200);
    }
  });

  it('shows hostile class names and descriptions as text, running nothing', async () => {
    const check = await openReport(context, reports.hostile, join(screenshots, 'hostile-report.png'));
    expect(check.errors).toEqual([]);
    expect(check.dialogs).toEqual([]);
    expect(check.scripts).toBe(0);
    expect(check.text).toContain('<script>alert(1)</script>');
    expect(check.text).toContain('<img src=x onerror="alert(2)">');
  });

  it('draws the ablation report', async () => {
    const check = await openReport(context, reports.ablation, join(screenshots, 'ablation-report.png'));
    expect(check.errors).toEqual([]);
    expect(check.requests).toEqual([]);
    expect(check.figures.map((f) => f.name)).toEqual(['ablation-values', 'ablation-differences']);
    for (const figure of check.figures) expect(figure.drawn, figure.name).toBeGreaterThan(0);
  });

  it("draws the comparison of the label-decoder ablation's runs: overlaid curves, legend by decoder, metrics table", async () => {
    const screenshot = join(screenshots, 'compare.png');
    const check = await openReport(context, reports.compare, screenshot);
    console.info(`comparison screenshot: ${screenshot}`);
    expect(check.errors).toEqual([]);
    expect(check.requests).toEqual([]);
    expect(check.scripts).toBe(0);
    expect(check.figures.map((f) => f.name)).toEqual(['compare-loss', 'compare-metrics', 'compare-step-loss']);
    for (const figure of check.figures) {
      expect(figure.drawn, `${figure.name} draws nothing`).toBeGreaterThan(0);
      expect(figure.width, figure.name).toBeGreaterThan(200);
    }
    for (const decoder of ['lstm', 'gru', 'dense', 'query']) expect(check.text).toContain(`decoder=${decoder}`);
    expect(check.text).toContain('Final metrics');
    expect(check.text).toContain('★');
    expect(check.text).toContain('Difference from the first run');
  });
});
