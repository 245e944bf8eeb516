import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tinyDemoData, tinyExperiment } from '../train/helpers.ts';

interface Attempt {
  pid: number;
  status: string;
}

function sliceseq(args: string[]): Promise<{ code: number | null; pid: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/sliceseq.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, pid: child.pid!, stdout, stderr }));
  });
}

describe('sliceseq ablate --jobs', () => {
  it('runs two trials at once, each in its own process, then writes the summary', async () => {
    const { root, data } = await tinyDemoData();
    // .mts: outside a "type": "module" package a .ts file would load as CommonJS.
    const file = join(root, 'tiny-ablation.mts');
    const ablation = { base: tinyExperiment(data), variants: { gru: {}, dense: { model: { decoder: { name: 'dense' } } } }, reference: 'gru', seeds: 1 };
    writeFileSync(file, `export default ${JSON.stringify(ablation)};\n`);
    const out = join(root, 'runs');

    const result = await sliceseq(['ablate', file, '--jobs', '2', '--out', out, '--backend', 'wasm']);
    expect(result.stderr).toMatch(/2 trials \(2 variants × 1 seed × 1 fold\).*running 2, 2 at a time/);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('# Ablation tiny-ablation');

    const dir = join(out, 'tiny-ablation');
    const attempt = (trial: string) => (JSON.parse(readFileSync(join(dir, trial, 'trial.json'), 'utf8')).attempts as Attempt[])[0];
    const [gru, dense] = [attempt('gru-seed0-fold0'), attempt('dense-seed0-fold0')];
    expect([gru.status, dense.status]).toEqual(['finished', 'finished']);
    expect(new Set([gru.pid, dense.pid, result.pid]).size).toBe(3);
    // Both processes were started before either trial finished (log lines to a pipe start with a UTC time stamp).
    const started = [...result.stderr.matchAll(/^(?:\S+Z )?(\S+): started in process (\d+)/gm)].map((m) => [m[1], Number(m[2])]);
    expect(Object.fromEntries(started)).toEqual({ 'gru-seed0-fold0': gru.pid, 'dense-seed0-fold0': dense.pid });
    const lastStart = Math.max(...[...result.stderr.matchAll(/started in process/g)].map((m) => m.index!));
    expect(lastStart).toBeLessThan(result.stderr.search(/\] \S+: finished/));
    expect(readFileSync(join(dir, 'gru-seed0-fold0', 'trial.log'), 'utf8')).toMatch(/data: 16 patients/);
    const summary = JSON.parse(readFileSync(join(dir, 'ablation-summary.json'), 'utf8'));
    expect(summary).toMatchObject({ name: 'tiny-ablation', complete: true, trials: { planned: 2, finished: 2 } });
  });
});
