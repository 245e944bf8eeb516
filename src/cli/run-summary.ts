import { existsSync } from 'node:fs';
import type { RunResult } from '../experiments/run.ts';
import { f2Key, metricKeys, scoreAt } from '../metrics/scores.ts';
import { runPath } from '../runs/layout.ts';

function fmt(value: unknown): string {
  return typeof value === 'number' ? value.toFixed(4) : 'n/a';
}

/**
 * The lines a researcher reads at the end of a run: F2 at 0.5 and at the tuned thresholds, both constant answers
 * beside them (all positive, all negative), AUC and the group scores. A module of its own so that `sliceseq run
 * --help` loads none of the scoring code.
 */
export function summarizeRun(result: RunResult): string {
  const { val, test, baseline } = result.metrics;
  const split = test ? 'test' : 'val';
  const block = test ?? val;
  const lines = [`run: ${result.runDir}`, `backend: ${result.backend.kind} (${result.backend.device})`];
  if (result.state.stopped) lines.push(`stopped: ${result.state.stopped}`);
  const averages = ['samples', 'micro', 'macro'] as const;
  const row = (label: string, scores: unknown, tuned = false) =>
    scoreAt(scores, f2Key('samples', tuned)) !== undefined &&
    lines.push(`${label.padEnd(26)} ${averages.map((average) => `${average} ${fmt(scoreAt(scores, f2Key(average, tuned)))}`).join('  ')}`);
  row(`${split} F2 at 0.5`, block);
  row(`${split} F2 tuned thresholds`, block, true);
  // Both constant answers beside the F2 (older runs wrote only the all-positive one, as metrics.json's `baseline`).
  const baselines = (block as { baselines?: Record<'all_positive' | 'all_negative', Record<string, number>> } | undefined)?.baselines;
  row(`${split} all-positive F2`, baselines ? { f2: baselines.all_positive } : baseline);
  if (baselines) row(`${split} all-negative F2`, { f2: baselines.all_negative });
  if ((block as { f2_tuned_positives?: number } | undefined)?.f2_tuned_positives === 0)
    lines.push(`warning: the tuned thresholds predict no positive label on ${split}: the tuned F2 is the all-negative baseline, not a model result`);
  const { aucMacro, categoricalAuc, qwk, ordinalAccuracy } = metricKeys;
  if (scoreAt(block, aucMacro) !== undefined) lines.push(`${split} ${aucMacro.title} ${fmt(scoreAt(block, aucMacro))}`);
  if (scoreAt(block, f2Key('samples')) !== undefined && typeof (block as { policy?: unknown }).policy === 'string') lines.push(`F2 policy: ${(block as { policy: string }).policy}`);
  if (scoreAt(block, categoricalAuc) !== undefined) lines.push(`${split} categorical AUC macro ${fmt(scoreAt(block, categoricalAuc))} (per group: metrics.json groups)`);
  if (scoreAt(block, qwk) !== undefined) lines.push(`${split} ordinal QWK ${fmt(scoreAt(block, qwk))}, exact grade accuracy ${fmt(scoreAt(block, ordinalAccuracy))} (per group: metrics.json groups)`);
  const report = runPath(result.runDir, 'report');
  if (existsSync(report)) lines.push(`report: ${report}`);
  else if (test && scoreAt(block, f2Key('samples')) !== undefined) lines.push(`report: ${runPath(result.runDir, 'classificationReport')}.md`);
  return lines.join('\n');
}
