import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCsv } from '../../src/data/datasets/csv.ts';
import { scoreSubmission } from '../../src/metrics/submission/score.ts';

/**
 * An RSNA-format submission and solution (Public/Private by study, mostly normal images) scored by
 * scikit-learn in scripts/score-submission.py --write-fixtures: `sliceseq score` must print the same numbers.
 */
const dir = join(import.meta.dirname, '../fixtures/leaderboard');
const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Record<'f2' | 'wlogloss', Record<'public' | 'private' | 'all', number>>;

describe('leaderboard scores against scikit-learn', () => {
  it.each(['f2', 'wlogloss'] as const)('%s on Public, Private and all', async (metric) => {
    const [submission, solution] = await Promise.all([readCsv(join(dir, 'submission.csv')), readCsv(join(dir, 'solution.csv'))]);
    const score = scoreSubmission(submission, solution, { metric }, () => {});
    for (const split of ['public', 'private', 'all'] as const) expect(score[split], split).toBeCloseTo(expected[metric][split], 12);
  });

  it('depends on the zero-division policy (the fixture has normal images called normal), and the default is 1', async () => {
    const [submission, solution] = await Promise.all([readCsv(join(dir, 'submission.csv')), readCsv(join(dir, 'solution.csv'))]);
    const strict = scoreSubmission(submission, solution, { zeroDivision: 0 }, () => {});
    expect(strict.all!).toBeLessThan(expected.f2.all - 0.01);
    expect(scoreSubmission(submission, solution, { zeroDivision: 1 }, () => {}).all).toBe(scoreSubmission(submission, solution, {}, () => {}).all);
  });
});
