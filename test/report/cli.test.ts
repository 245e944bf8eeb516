import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { describe, expect, it, vi } from 'vitest';
import { registerLeaderboard } from '../../src/cli/commands/leaderboard.ts';
import { registerScore } from '../../src/cli/commands/score.ts';
import { makeRuns } from './runs.ts';

const bin = fileURLToPath(new URL('../../bin/sliceseq.js', import.meta.url));

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function sliceseq(...args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { ...process.env, SLICESEQ_LOG: 'warn' } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

function files(contents: Record<string, string>): (name: string) => string {
  const dir = mkdtempSync(join(tmpdir(), 'score-cli-'));
  for (const [name, text] of Object.entries(contents)) writeFileSync(join(dir, name), text);
  return (name) => join(dir, name);
}

// Planet-style tags: a(cat dog) b(dog) c() d(bird); sklearn fbeta_score(beta=2, average='samples', zero_division=0)
// gives 0.2778 on Public (a, c), 0.9167 on Private (b, d), 0.5972 on all.
const path = files({
  'solution.csv': 'Id,Expected,Usage\na,cat dog,Public\nb,dog,Private\nc,,Public\nd,bird,Private\n',
  'tags.csv': 'Id,Predicted\na,cat\nb,dog bird\nc,\nd,bird\n',
  'wide.csv': 'Id,cat,dog,bird\na,0.9,0.2,0.1\nb,0.1,0.8,0.7\nc,0,0,0\nd,0.3,0.1,0.95\n',
  'long.csv': 'ID,Label\nID_a_cat,0.9\nID_a_dog,0.2\nID_a_bird,0.1\nID_b_cat,0.1\nID_b_dog,0.8\nID_b_bird,0.7\nID_c_cat,0\nID_c_dog,0\nID_c_bird,0\nID_d_cat,0.3\nID_d_dog,0.1\nID_d_bird,0.95\n',
  'missing.csv': 'Id,cat,dog,bird\na,0.9,0.2,0.1\nb,0.1,0.8,0.7\n',
  'extra.csv': 'Id,cat,dog,bird\na,0.9,0.2,0.1\nb,0.1,0.8,0.7\nc,0,0,0\nd,0.3,0.1,0.95\ne,0,0,0\n',
  'duplicate.csv': 'Id,cat,dog,bird\na,0.9,0.2,0.1\nb,0.1,0.8,0.7\nc,0,0,0\nd,0.3,0.1,0.95\nb,0,0,0\n',
  'text.csv': 'Id,cat,dog,bird\na,0.9,0.2,yes\nb,0.1,0.8,0.7\nc,0,0,0\nd,0.3,0.1,0.95\n',
  'range.csv': 'Id,cat,dog,bird\na,0.9,0.2,0.1\nb,0.1,-0.8,0.7\nc,0,0,0\nd,0.3,0.1,0.95\n',
  'columns.csv': 'Id,cat,dog,fish\na,0.9,0.2,0.1\nb,0.1,0.8,0.7\nc,0,0,0\nd,0.3,0.1,0.95\n',
  'predictions.csv': 'id,patient,cat,dog,bird,label_cat,true_cat,true_dog,true_bird\na,p1,0.9,0.2,0.1,1,1,1,0\nb,p1,0.1,0.8,0.7,0,0,1,0\nc,p2,0.1,0.1,0.1,0,0,0,0\n',
});

/** Runs a command in this process, through the same commander registration; returns what it printed. */
async function inProcess(...args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  registerScore(program);
  registerLeaderboard(program);
  const printed: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (printed.push(String(chunk)), true));
  try {
    await program.parseAsync(['node', 'sliceseq', ...args]);
  } finally {
    spy.mockRestore();
  }
  return printed.join('');
}

// Spawning the real binary costs seconds each, so three spawns check the process boundary (JSON on stdout,
// exit code 1 and `sliceseq: <message>` on stderr); the other cases run the same commands in-process.
describe('sliceseq binary', () => {
  it('scores, rejects and ranks through node bin/sliceseq.js', async () => {
    const root = makeRuns();
    const [score, rejected, board] = await Promise.all([
      sliceseq('score', path('tags.csv'), '--solution', path('solution.csv'), '--zero-division', '0'),
      sliceseq('score', path('missing.csv'), '--solution', path('solution.csv')),
      sliceseq('leaderboard', root),
    ]);
    expect(score.code, score.stderr).toBe(0);
    const parsed = JSON.parse(score.stdout);
    expect(Object.keys(parsed)).toEqual(['public', 'private', 'all', 'policy']);
    expect(parsed.public).toBeCloseTo(0.2777777777777778, 12);
    expect(parsed.private).toBeCloseTo(0.9166666666666667, 12);
    expect(parsed.all).toBeCloseTo(0.5972222222222222, 12);
    expect(rejected.code).toBe(1);
    expect(rejected.stdout).toBe('');
    expect(rejected.stderr).toBe(`sliceseq: ${path('missing.csv')}: missing ids: 2 (c, d) of the solution are not in the submission\n`);
    expect(board.code, board.stderr).toBe(0);
    expect(board.stdout.split('\n')[1]).toMatch(/^1\s+lstm\s+0\.8600 ± 0\.0141\s+2\s+1,2\s+lstm$/);
  });
});

describe('sliceseq score', () => {
  it('prints public, private and all as JSON for each submission format', async () => {
    for (const file of ['tags.csv', 'wide.csv', 'long.csv']) {
      const score = JSON.parse(await inProcess('score', path(file), '--solution', path('solution.csv'), '--zero-division', '0', '--threshold', '0.5'));
      expect(Object.keys(score)).toEqual(['public', 'private', 'all', 'policy']);
      expect(score.public, file).toBeCloseTo(0.2777777777777778, 12);
      expect(score.private, file).toBeCloseTo(0.9166666666666667, 12);
      expect(score.all, file).toBeCloseTo(0.5972222222222222, 12);
    }
    // sklearn roc_auc_score(y.ravel(), p.ravel()) of wide.csv: 30 of 32 positive/negative pairs ordered right.
    const auc = JSON.parse(await inProcess('score', path('wide.csv'), '--solution', path('solution.csv'), '--metric', 'auc', '--average', 'micro'));
    expect(auc.all).toBe(0.9375);
  });

  it.each([
    ['missing.csv', /missing ids: 2 \(c, d\) of the solution are not in the submission/],
    ['extra.csv', /extra ids: 1 \(e\) are not in the solution/],
    ['duplicate.csv', /line 6: duplicate id 'b' \(first on line 3\)/],
    ['text.csv', /line 2, column 'bird': non-numeric value 'yes' for id 'a'/],
    ['range.csv', /line 3, column 'dog': out-of-range value -0.8 for id 'b'/],
    ['columns.csv', /wrong columns: missing 'bird'/],
  ])('rejects %s with a message naming the problem', async (file, message) => {
    const run = inProcess('score', path(file), '--solution', path('solution.csv'));
    await expect(run).rejects.toThrow(message);
    await expect(run).rejects.toThrow(path(file));
  });

  it("scores a sliceseq predictions file against its own true_ columns, or a solution's", async () => {
    const own = JSON.parse(await inProcess('score', path('predictions.csv')));
    // Rows a (cat dog vs cat), b (dog vs dog bird), c (none vs none: zero division 1): F2 (5/9 + 5/6 + 1) / 3.
    expect(own.all).toBeCloseTo((5 / 9 + 5 / 6 + 1) / 3, 12);
    expect(own.policy).toContain('zero division 1');
    await expect(inProcess('score', path('wide.csv'))).rejects.toThrow(/a solution is needed \(--solution FILE\)/);
  });

  it('rejects a threshold that is not a number', async () => {
    await expect(inProcess('score', path('wide.csv'), '--solution', path('solution.csv'), '--threshold', 'half')).rejects.toThrow(
      /--threshold must be a number, got 'half'/,
    );
  });
});

describe('sliceseq leaderboard', () => {
  it('prints JSON for any metric path and refuses an empty directory', async () => {
    const board = JSON.parse(await inProcess('leaderboard', makeRuns(), '--metric', 'val.auc.macro', '--json'));
    expect(board.metric).toBe('val.auc.macro');
    expect(board.entries.map((e: { name: string }) => e.name)).toEqual(['lstm', 'baseline', 'no-encoder']);
    await expect(inProcess('leaderboard', mkdtempSync(join(tmpdir(), 'no-runs-')))).rejects.toThrow(/no runs under/);
  });
});
