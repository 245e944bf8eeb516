import { copyFileSync, cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { log } from '../../src/core/log.ts';
import { meanConfidenceInterval } from '../../src/metrics/student-t.ts';
import { writeAblationReport } from '../../src/report/ablation-report.ts';
import { readAblationSummary } from '../../src/runs/ablation-summary.ts';
import { writeSyntheticRun } from './run-report-fixture.ts';

const fixture = new URL('../fixtures/report/ablation-summary.json', import.meta.url);

/** A fresh ablation folder holding the fixture summary, edited by `change`. */
function ablationDir(change: (summary: Record<string, any>) => void = () => {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'ablation-report-'));
  const summary = JSON.parse(readFileSync(fixture, 'utf8'));
  change(summary);
  writeFileSync(join(dir, 'ablation-summary.json'), JSON.stringify(summary));
  return dir;
}

describe('ablation report', () => {
  it('reads the summary the ablation runner writes', () => {
    const summary = readAblationSummary(dirname(fileURLPath(fixture)));
    expect(summary.reference).toBe('gru-lstm');
    expect(summary.variants).toHaveLength(4);
  });

  it("links the trials' comparison page (compare.html), written over the trial run directories it finds", async () => {
    const dir = ablationDir();
    const summary = readAblationSummary(dir);
    const trials = summary.variants.flatMap((variant) => variant.trials.map((trial) => ({ variant: variant.name, runDir: trial.runDir })));
    // All but the last trial's run directory are here.
    trials.slice(0, -1).forEach(({ variant, runDir }, i) => {
      cpSync(writeSyntheticRun({ classes: ['a', 'b'], seed: i, config: { name: 'ablation', seed: i, model: { decoder: { name: variant } } } }), join(dir, runDir), { recursive: true });
    });
    const warn = vi.spyOn(log, 'warn');
    const { html } = await writeAblationReport(dir);
    warn.mockRestore();
    const page = readFileSync(html, 'utf8');
    expect(page).toContain('<a href="compare.html">compare.html</a>');
    expect(page).toContain('1 trial run directories are not here, so compare.html leaves them out');
    const compare = readFileSync(join(dir, 'compare.html'), 'utf8');
    expect(compare).toContain('Trials of ablation');
    expect(compare).toContain(`decoder=${trials[0].variant}`);
    expect(existsSync(join(dir, 'compare-figures', 'compare-loss.svg'))).toBe(true);
    // The ablation report's own figures stay.
    expect(existsSync(join(dir, 'figures', 'ablation-values.svg'))).toBe(true);
  });

  it('draws values and differences per variant, and the significance table', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ablation-report-'));
    copyFileSync(fixture, join(dir, 'ablation-summary.json'));
    const { html: htmlPath, figures } = await writeAblationReport(dir);
    const page = readFileSync(htmlPath, 'utf8');
    expect(figures.map((f) => f.slice(dir.length + 1)).sort()).toEqual(
      ['ablation-differences.png', 'ablation-differences.svg', 'ablation-values.png', 'ablation-values.svg'].map((f) => join('figures', f)),
    );
    const summary = JSON.parse(readFileSync(fixture, 'utf8'));
    const values = readFileSync(join(dir, 'figures', 'ablation-values.svg'), 'utf8');
    // One dot per finished trial and metric; one diamond per variant and metric.
    const trials = summary.variants.reduce((n: number, v: { trials: unknown[] }) => n + v.trials.length, 0);
    expect(values.match(/aria-label="[^"]*trial: seed[^"]*" role="graphics-symbol" aria-roledescription="point"/g)).toHaveLength(trials * summary.metrics.length);
    expect(values.match(/aria-label="value: [^"]*; mean: [^"]*" role="graphics-symbol" aria-roledescription="point"/g)).toHaveLength(summary.variants.length * summary.metrics.length);
    // The interval of a mean is the t interval over the trials (the runner writes none of its own).
    const noneDense = summary.variants.find((v: { name: string }) => v.name === 'none-dense');
    const t = meanConfidenceInterval(noneDense.trials.map((trial: { values: Record<string, number> }) => trial.values['f2_tuned.samples']), 0.95)!;
    expect(page).toContain(`<td>none-dense</td><td>F2 samples (tuned)</td><td class="num">${noneDense.metrics['f2_tuned.samples'].mean.toFixed(4)} ± ${noneDense.metrics['f2_tuned.samples'].std.toFixed(4)}</td><td class="num">[${t.lower.toFixed(4)}, ${t.upper.toFixed(4)}]</td>`);
    const vs = noneDense.metrics['f2_tuned.samples'].vsReference;
    expect(page).toContain(`<td class="num">${vs.difference.toFixed(4)}</td><td class="num">[${vs.lower.toFixed(4)}, ${vs.upper.toFixed(4)}]</td><td class="num">${vs.pValue.toFixed(4)}</td><td>yes</td>`);
    // Three F2 averages compared for each of the three other variants; AUC has no paired comparison.
    const differences = readFileSync(join(dir, 'figures', 'ablation-differences.svg'), 'utf8');
    expect(differences.match(/aria-label="difference: [^"]*" role="graphics-symbol" aria-roledescription="point"/g)).toHaveLength(9);
    expect(page).toContain('gru-gru: 1 trial(s) not finished (gru-gru-seed2-fold0)');
  });

  it('draws one trial per variant without intervals, and without vega warnings', async () => {
    const dir = ablationDir((summary) => {
      for (const variant of summary.variants) variant.trials = variant.trials.slice(0, 1);
    });
    const warn = vi.spyOn(log, 'warn');
    try {
      await writeAblationReport(dir);
      expect(warn.mock.calls.filter(([message]) => String(message).startsWith('vega'))).toEqual([]);
    } finally {
      warn.mockRestore();
    }
    const values = readFileSync(join(dir, 'figures', 'ablation-values.svg'), 'utf8');
    expect(values).not.toContain('aria-roledescription="rule"');
    expect(values.match(/aria-roledescription="point"/g)!.length).toBeGreaterThan(0);
  });

  it('shows variant names as text', async () => {
    const hostile = '<script>alert(1)</script>';
    const dir = ablationDir((summary) => {
      summary.variants[1].name = hostile;
      summary.description = '<img src=x onerror=alert(2)>';
    });
    const page = readFileSync((await writeAblationReport(dir)).html, 'utf8');
    expect(page).not.toMatch(/<script|<img/i);
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(readFileSync(join(dir, 'figures', 'ablation-values.svg'), 'utf8')).toContain('&lt;script&gt;');
  });

  it('rejects a summary that does not hold together, naming the field', async () => {
    await expect(writeAblationReport(ablationDir((s) => (s.reference = 'transformer')))).rejects.toThrow(/reference.*'transformer' is not one of the variants/);
    await expect(writeAblationReport(ablationDir((s) => (s.variants[2].name = s.variants[0].name)))).rejects.toThrow(/variants\.2\.name.*appears twice/);
    await expect(writeAblationReport(ablationDir((s) => delete s.variants[0].trials))).rejects.toThrow(/variants\.0\.trials/);
    await expect(writeAblationReport(mkdtempSync(join(tmpdir(), 'no-ablation-')))).rejects.toThrow(/cannot read .*ablation-summary\.json/);
  });
});

function fileURLPath(url: URL): string {
  return decodeURIComponent(url.pathname);
}
