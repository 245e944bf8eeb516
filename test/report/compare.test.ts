import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerCompare } from '../../src/cli/commands/compare.ts';
import { runCli } from '../helpers/cli.ts';
import { pairedBootstrap } from '../../src/metrics/bootstrap.ts';
import { createMetric, scoreFunction } from '../../src/metrics/registry.ts';
import { configDifferences, resolveRunArguments, writeComparison, type CompareResult } from '../../src/report/compare.ts';
import { readRunFiles } from '../../src/runs/run-dir.ts';
import { writeSyntheticRun } from './run-report-fixture.ts';

const classes = ['a', 'b', 'c'];
const config = (decoder: string, lr: number) => ({
  name: 'decoders',
  seed: 0,
  model: { decoder: { name: decoder, hidden: 8 }, encoder: { name: 'gru', hidden: 8 } },
  optimizer: { name: 'adam', lr },
  data: { dataset: { name: 'rsna-ich', root: '/nowhere' } },
});

/** Three runs under one folder, differing in the decoder and the learning rate. */
function writeRuns(): string[] {
  const root = mkdtempSync(join(tmpdir(), 'compare-'));
  return [
    ['lstm', 0.01, 0],
    ['gru', 0.01, 0.05],
    ['query', 0.001, 0.1],
  ].map(([decoder, lr, offset], i) => {
    const dir = writeSyntheticRun({ classes, seed: i, offset: offset as number, config: config(decoder as string, lr as number) });
    const target = join(root, `decoders-${decoder}-seed0-fold0`);
    cpSync(dir, target, { recursive: true });
    return target;
  });
}

describe('sliceseq compare', () => {
  let runs: string[];
  let result: CompareResult;
  let page: string;

  beforeAll(async () => {
    runs = writeRuns();
    result = await writeComparison(runs, { out: join(dirname(runs[0]), 'compare.html'), resamples: 200 });
    page = readFileSync(result.html, 'utf8');
  });

  it('names each run by how its config differs from the others', () => {
    const configs = runs.map((dir) => JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
    expect(configDifferences(configs)).toEqual(['model.decoder.name', 'optimizer.lr']);
    for (const label of ['decoder=lstm, lr=0.01', 'decoder=gru, lr=0.01', 'decoder=query, lr=0.001']) expect(page).toContain(`<td>${label}</td>`);
    const svg = readFileSync(join(dirname(runs[0]), 'compare-figures', 'compare-loss.svg'), 'utf8');
    expect(svg).toContain('decoder=query, lr=0.001');
  });

  it('overlays every run in each figure, and draws them as files beside the page', () => {
    for (const name of ['compare-loss', 'compare-metrics', 'compare-step-loss']) {
      expect(page).toContain(`data-figure="${name}"`);
      expect(page).toContain(`href="compare-figures/${name}.png"`);
    }
    const steps = readFileSync(join(dirname(runs[0]), 'compare-figures', 'compare-step-loss.svg'), 'utf8');
    expect(steps.match(/aria-roledescription="line mark"/g)).toHaveLength(3);
    // Loss: a train and a validation line per run.
    const loss = readFileSync(join(dirname(runs[0]), 'compare-figures', 'compare-loss.svg'), 'utf8');
    expect(loss.match(/aria-roledescription="line mark"/g)).toHaveLength(6);
  });

  it('marks the best value of each metric column, lowest for the losses', async () => {
    const table = page.slice(page.indexOf('<section id="metrics">'), page.indexOf('</section>', page.indexOf('<section id="metrics">')));
    const headers = [...table.matchAll(/<th>([^<]+)<\/th>/g)].map((m) => m[1]).slice(1);
    expect(table.match(/★/g)!.length).toBeGreaterThanOrEqual(headers.length);
    const files = await Promise.all(runs.map((dir) => readRunFiles(dir)));
    const brier = files.map((f) => (f.metrics!.test as { brier: number }).brier);
    expect(table).toContain(`<strong class="best">${Math.min(...brier).toFixed(4)} ★</strong>`);
    const auc = files.map((f) => (f.metrics!.test as { auc: { macro: number } }).auc.macro);
    expect(table).toContain(`<strong class="best">${Math.max(...auc).toFixed(4)} ★</strong>`);
  });

  it('gives each run\'s paired-bootstrap difference from the first on their shared test patients', async () => {
    const [first, second] = await Promise.all(runs.slice(0, 2).map((dir) => readRunFiles(dir)));
    const auc = scoreFunction(createMetric({ name: 'auc', average: 'macro' }, { columns: classes }));
    const expected = pairedBootstrap(auc, second.test!.scores, first.test!.scores, first.test!.targets(), { seed: 0, resamples: 200, warn: () => {} });
    const difference = expected.estimate!;
    expect(page).toContain(`<td>decoder=gru, lr=0.01</td><td>AUC macro</td><td class="num">${expected.a!.toFixed(4)}</td><td class="num">${expected.b!.toFixed(4)}</td><td class="num">${difference >= 0 ? '+' : ''}${difference.toFixed(4)}</td>`);
    expect(page).toContain(`[${expected.lower! >= 0 ? '+' : ''}${expected.lower!.toFixed(4)}, ${expected.upper! >= 0 ? '+' : ''}${expected.upper!.toFixed(4)}]`);
    expect(page.match(/<td>F2 samples \(own tuned thresholds\)<\/td>/g)).toHaveLength(2);
  });

  it('pairs only runs on the same test set, saying why not', async () => {
    const other = runs[2];
    const csv = join(other, 'predictions-test.csv');
    writeFileSync(csv, readFileSync(csv, 'utf8').replace('test-0,', 'elsewhere-0,'));
    const out = join(dirname(other), 'other.html');
    const again = await writeComparison(runs, { out, resamples: 50 });
    expect(again.notes).toContain('decoder=query, lr=0.001: no paired difference from the first run (another test set)');
    expect(readFileSync(out, 'utf8')).toContain('other-figures/compare-loss.svg');
  });

  it('takes run directories, folders of runs and globs from the command line', async () => {
    const root = dirname(runs[0]);
    // In argument order, each run once: the folder adds the two runs not named before it.
    expect(resolveRunArguments([runs[1], root])).toEqual([runs[1], ...[runs[0], runs[2]].sort()]);
    expect(resolveRunArguments([join(root, 'decoders-*-seed0-fold0')]).map((dir) => basename(dir))).toEqual(runs.map((dir) => basename(dir)).sort());
    expect(() => resolveRunArguments([join(root, 'compare-figures')])).toThrow(/is not a run directory \(no config\.json\) and holds none/);
    const html = await runCli(registerCompare, 'compare', join(root, 'decoders-*'), '--out', join(root, 'cli.html'), '--resamples', '20', '--seed', '1');
    expect(readFileSync(html.trim(), 'utf8')).toContain('Comparison of 3 runs');
    await expect(runCli(registerCompare, 'compare', root, '--out', join(root, 'x.html'), '--resamples', '0')).rejects.toThrow(/--resamples must be a positive whole number/);
  });
});
