import { describe, expect, it } from 'vitest';
import { parseCsv } from '../../src/data/datasets/csv.ts';
import { detectFormat, inferLongClasses, readSubmissionTable, splitLongKey } from '../../src/metrics/submission/read.ts';
import { scoreSubmission, type ScoreOptions } from '../../src/metrics/submission/score.ts';
import { longSubmission, submissionText, tagsSubmission, wideSubmission } from '../../src/metrics/submission/write.ts';
import { close, loadFixture } from './fixtures.ts';

interface Case {
  ids: string[];
  classes: string[];
  targets: number[];
  scores: number[];
  usage: string[];
  expected: Record<string, { public: number; private: number; all: number }>;
}

const c = loadFixture<Case>('submission')[0];
const predictions = { ids: c.ids, classes: c.classes, values: Float64Array.from(c.scores) };
const solutionTable = { ids: c.ids, classes: c.classes, values: Float64Array.from(c.targets) };

/** The solution as a wide CSV with a Usage column. */
function wideSolution(): string {
  const rows = c.ids.map((id, r) => [id, ...c.classes.map((_, j) => String(c.targets[r * c.classes.length + j])), c.usage[r]].join(','));
  return [['id', ...c.classes, 'Usage'].join(','), ...rows].join('\n');
}

/** The solution in long format, Usage per (id, class) row. */
function longSolution(): string {
  const body = longSubmission(solutionTable).trim().split('\n');
  return [`${body[0]},Usage`, ...body.slice(1).map((line, i) => `${line},${c.usage[Math.floor(i / c.classes.length)]}`)].join('\n');
}

function tagsSolution(): string {
  const body = tagsSubmission(solutionTable, { idColumn: 'Id' }).trim().split('\n');
  return ['Id,Expected,Usage', ...body.slice(1).map((line, r) => `${line},${c.usage[r]}`)].join('\n');
}

const score = (submission: string, solution: string, options: ScoreOptions = {}) =>
  scoreSubmission(parseCsv(submission, 'submission.csv'), parseCsv(solution, 'solution.csv'), { zeroDivision: 0, ...options }, () => {});

function expectScores(actual: { public?: number | null; private?: number | null; all: number | null }, expected: Case['expected'][string]) {
  for (const split of ['public', 'private', 'all'] as const) {
    expect(close(actual[split] ?? null, expected[split]), `${split}: ${actual[split]} vs ${expected[split]}`).toBe(true);
  }
}

describe('submission writers', () => {
  const small = { ids: ['7', '8'], classes: ['any', 'sub_dural'], values: Float64Array.of(0.25, 1, 0.0001234567, 0.5) };
  it('write long, wide and tags formats', () => {
    expect(longSubmission(small)).toBe('ID,Label\nID_7_any,0.25\nID_7_sub_dural,1\nID_8_any,0.000123457\nID_8_sub_dural,0.5\n');
    expect(wideSubmission(small, { idColumn: 'image' })).toBe('image,any,sub_dural\n7,0.25,1\n8,0.000123457,0.5\n');
    expect(tagsSubmission(small)).toBe('Id,Predicted\n7,sub_dural\n8,sub_dural\n');
    expect(tagsSubmission(small, { thresholds: [0.2, 0.9] })).toBe('Id,Predicted\n7,any sub_dural\n8,\n');
  });
  it('refuse values that are not probabilities and duplicate ids', () => {
    expect(() => wideSubmission({ ...small, values: Float64Array.of(0.2, 1.5, 0, 0) })).toThrow(/value 1.5 for id '7', class 'sub_dural'/);
    expect(() => wideSubmission({ ...small, ids: ['7', '7'] })).toThrow(/duplicate id '7'/);
  });
});

describe('rsna format and sample submissions', () => {
  const subtypes = ['epidural', 'intraparenchymal', 'intraventricular', 'subarachnoid', 'subdural'];
  // Two images (file stems ID_a1, ID_b2), the subtypes in another order than the competition's.
  const probabilities = { ids: ['ID_a1', 'ID_b2'], classes: [...subtypes].reverse(), values: Float64Array.of(0.5, 0, 0, 0, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1) };

  it("writes ID_<image>_<subtype> rows, any = 1 - prod(1 - p) without the model's own any", () => {
    const lines = submissionText(probabilities, 'rsna').trim().split('\n');
    expect(lines[0]).toBe('ID,Label');
    expect(lines.slice(1, 7)).toEqual(['ID_a1_epidural,0.2', 'ID_a1_intraparenchymal,0', 'ID_a1_intraventricular,0', 'ID_a1_subarachnoid,0', 'ID_a1_subdural,0.5', `ID_a1_any,${1 - 0.5 * 0.8}`]);
    expect(lines[12]).toBe(`ID_b2_any,${Number((1 - 0.9 ** 5).toPrecision(6))}`);
    const withAny = { ids: ['ID_a1'], classes: [...subtypes, 'any'], values: Float64Array.of(0.1, 0.1, 0.1, 0.1, 0.1, 0.05) };
    expect(submissionText(withAny, 'rsna').trim().split('\n')[6]).toBe('ID_a1_any,0.05');
    expect(() => submissionText({ ids: ['x'], classes: ['any'], values: [0.5] }, 'rsna')).toThrow(/the rsna format needs the classes .*; the model has no epidural, intraparenchymal/);
  });

  it("follows the sample submission's order and header, and lists missing and extra ids", () => {
    const keys = (ids: string[]) => ids.flatMap((id) => [...subtypes, 'any'].map((t) => `ID_${id}_${t}`));
    const sample = parseCsv(`ID,Label\n${[...keys(['b2', 'a1'])].reverse().map((key) => `${key},0.5`).join('\n')}`, 'sample.csv');
    const ordered = submissionText(probabilities, 'rsna', { sample }).trim().split('\n');
    expect(ordered.slice(1).map((line) => line.split(',')[0])).toEqual(sample.rows.map((row) => row.cells.ID));
    expect(new Set(ordered)).toEqual(new Set(submissionText(probabilities, 'rsna').trim().split('\n')));
    const other = parseCsv(`ID,Label\n${keys(['a1', 'c3']).map((key) => `${key},0.5`).join('\n')}`, 'other.csv');
    expect(() => submissionText(probabilities, 'rsna', { sample: other })).toThrow(
      /submission does not match other.csv: missing ids: 6 \(ID_c3_epidural, .* and 1 more\) of the sample submission have no prediction; extra ids: 6 \(ID_b2_epidural, .*\) are not in the sample submission/,
    );
    expect(() => submissionText(probabilities, 'wide', { sample })).toThrow(/sample.csv: the sample submission is in long format, not wide/);
  });

  it('takes a wide sample its column order and id column name', () => {
    const wideSample = parseCsv('image,subdural,epidural,intraparenchymal,intraventricular,subarachnoid\nID_b2,0,0,0,0,0\nID_a1,0,0,0,0,0', 'w.csv');
    expect(submissionText(probabilities, 'wide', { sample: wideSample })).toBe(
      'image,subdural,epidural,intraparenchymal,intraventricular,subarachnoid\nID_b2,0.1,0.1,0.1,0.1,0.1\nID_a1,0.5,0.2,0,0,0\n',
    );
  });
});

describe('submission reader', () => {
  it('detects the format from the header', () => {
    expect(detectFormat(['ID', 'Label'], 'f')).toBe('long');
    expect(detectFormat(['ID', 'Label', 'Usage'], 'f')).toBe('long');
    expect(detectFormat(['image_name', 'tags'], 'f')).toBe('tags');
    expect(detectFormat(['Id', 'Predicted'], 'f')).toBe('tags');
    expect(detectFormat(['StudyInstanceUID', 'a', 'b'], 'f')).toBe('wide');
    expect(() => detectFormat(['Id'], 'sub.csv')).toThrow(/sub.csv: cannot tell the format from the header 'Id'/);
  });

  it('splits long keys at a known class even when ids and classes contain _', () => {
    expect(splitLongKey('ID_p_001_intra_parenchymal', c.classes)).toEqual({ id: 'p_001', className: 'intra_parenchymal' });
    expect(splitLongKey('ID_12cadc6af_any')).toEqual({ id: '12cadc6af', className: 'any' });
    expect(splitLongKey('ID_nounderscore')).toBeNull();
  });

  it.each([
    ['long', longSubmission],
    ['wide', wideSubmission],
    ['tags', tagsSubmission],
  ] as const)('reads back what the %s writer wrote', (format, write) => {
    const table = readSubmissionTable(parseCsv(write(predictions), 'x.csv'), 'submission', c.classes);
    expect(table.format).toBe(format);
    expect(table.ids).toEqual(c.ids);
    if (format !== 'tags') {
      expect(table.classes).toEqual(c.classes);
      expect(Array.from(table.values)).toEqual(c.scores);
    }
  });
});

describe('scoring matches scikit-learn on each split', () => {
  const solutions = { wide: wideSolution(), long: longSolution(), tags: tagsSolution() };
  const submissions = { wide: wideSubmission(predictions), long: longSubmission(predictions) };

  it.each(Object.keys(solutions) as (keyof typeof solutions)[])('f2 of wide and long submissions against a %s solution', (solutionFormat) => {
    for (const submission of Object.values(submissions)) {
      expectScores(score(submission, solutions[solutionFormat]), c.expected.f2);
    }
  });

  it.each([
    ['f2-micro', { metric: 'f2', average: 'micro' }],
    ['f2-macro', { metric: 'f2', average: 'macro' }],
    ['f2-threshold-0.3', { metric: 'f2', threshold: 0.3 }],
    ['auc', { metric: 'auc' }],
    ['auc-micro', { metric: 'auc', average: 'micro' }],
    ['logloss', { metric: 'logloss' }],
    ['wlogloss', { metric: 'wlogloss' }],
  ] as Array<[string, ScoreOptions]>)('%s', (name, options) => {
    expectScores(score(submissions.long, solutions.wide, options), c.expected[name]);
  });

  it('scores a tags submission (hard labels at 0.5)', () => {
    expectScores(score(tagsSubmission(predictions), solutions.tags), c.expected['tags-f2']);
    expectScores(score(tagsSubmission(predictions), solutions.wide), c.expected['tags-f2']);
  });

  it('scores everything as "all" when the solution has no Usage column', () => {
    const solution = wideSubmission({ ...solutionTable, values: Float64Array.from(c.targets) });
    expect(Object.keys(score(submissions.wide, solution))).toEqual(['all', 'policy']);
  });

  it('counts a tag the solution never uses as a false positive', () => {
    const solution = 'Id,Expected\na,cat\nb,dog';
    expect(score('Id,Predicted\na,cat\nb,dog', solution).all).toBe(1);
    expect(score('Id,Predicted\na,cat unicorn\nb,dog', solution).all).toBeCloseTo((5 / 6 + 1) / 2, 12);
  });
});

describe('sliceseq predictions files', () => {
  const k = c.classes.length;
  // A run's predictions-test.csv: id, patient, every decoded column (one the solution does not score), true_ targets.
  const header = ['id', 'patient', ...c.classes, 'other_head', ...c.classes.map((name) => `true_${name}`)];
  const rows = c.ids.map((id, r) =>
    [id, `p${r % 3}`, ...c.classes.map((_, j) => c.scores[r * k + j]), 0.5, ...c.classes.map((_, j) => c.targets[r * k + j])].join(','),
  );
  const file = [header.join(','), ...rows].join('\n');

  it('score as a submission against a solution in any format, and against their own true_ columns', () => {
    expect(detectFormat(header, 'f')).toBe('sliceseq');
    expectScores(score(file, wideSolution()), c.expected.f2);
    expectScores(score(file, longSolution()), c.expected.f2);
    const own = scoreSubmission(parseCsv(file, 'predictions-test.csv'), undefined, { zeroDivision: 0 }, () => {});
    const noUsage = wideSubmission({ ...solutionTable, values: Float64Array.from(c.targets) });
    expect(own.all).toBe(score(wideSubmission(predictions), noUsage).all);
  });

  it('a submission in another format needs a solution; a predictions file without targets is no solution', () => {
    expect(() => scoreSubmission(parseCsv(wideSubmission(predictions), 'sub.csv'), undefined)).toThrow(/sub.csv: a solution is needed/);
    const noTargets = 'id,patient,cat\na,p,0.5';
    expect(() => scoreSubmission(parseCsv(noTargets, 'sub.csv'), parseCsv(noTargets, 'sol.csv'))).toThrow(/sol.csv: a predictions file without true_<class> columns holds no labels/);
  });
});

describe('zero division', () => {
  // a has no true and no predicted label (a normal patient called normal); b is a hit.
  const submission = 'id,cat,dog\na,0.1,0.2\nb,0.9,0.1';
  const solution = 'id,cat,dog\na,0,0\nb,1,0';
  it('scores such a row 1 by default, as runs do, and says which policy produced the number', () => {
    const result = scoreSubmission(parseCsv(submission, 's.csv'), parseCsv(solution, 't.csv'), {}, () => {});
    expect(result.all).toBe(1);
    expect(result.policy).toBe('f2 samples at threshold 0.5; zero division 1 (a row with no true and no predicted label scores 1)');
    const warnings: string[] = [];
    const warned = scoreSubmission(parseCsv(submission, 's.csv'), parseCsv(solution, 't.csv'), { zeroDivision: 'warn' }, (m) => warnings.push(m));
    expect(warned.all).toBe(0.5);
    expect(warned.policy).toMatch(/zero division warn \(a row with no true and no predicted label scores 0, with a warning\)/);
    expect(warnings).toHaveLength(1);
  });
});

describe('submission rejections name the problem', () => {
  const solution = 'id,cat,dog,Usage\na,1,0,Public\nb,0,1,Private\nc,1,1,Public';
  const longSolutionText = 'ID,Label\nID_a_cat,1\nID_a_dog,0\nID_b_cat,0\nID_b_dog,1';
  it.each([
    ['missing ids', 'id,cat,dog\na,0.9,0.1\nb,0.2,0.8', solution, /submission.csv: missing ids: 1 \(c\) of the solution are not in the submission/],
    ['extra ids', 'id,cat,dog\na,0.9,0.1\nb,0.2,0.8\nc,1,1\nzz,0,0', solution, /submission.csv: extra ids: 1 \(zz\) are not in the solution/],
    ['duplicate ids', 'id,cat,dog\na,0.9,0.1\nb,0.2,0.8\na,0.1,0.1\nc,1,1', solution, /submission.csv line 4: duplicate id 'a' \(first on line 2\)/],
    ['non-numeric values', 'id,cat,dog\na,0.9,0.1\nb,high,0.8\nc,1,1', solution, /submission.csv line 3, column 'cat': non-numeric value 'high' for id 'b'/],
    ['empty values', 'id,cat,dog\na,0.9,\nb,0.2,0.8\nc,1,1', solution, /line 2, column 'dog': non-numeric value '' for id 'a'/],
    ['out-of-range values', 'id,cat,dog\na,0.9,0.1\nb,0.2,1.2\nc,1,1', solution, /line 3, column 'dog': out-of-range value 1.2 for id 'b' \(expected a probability in \[0, 1\]\)/],
    ['wrong columns', 'id,cat,cow\na,0.9,0.1\nb,0.2,0.8\nc,1,1', solution, /submission.csv: wrong columns: missing 'dog'; unexpected 'cow'/],
    ['a Usage column in a submission', 'id,cat,dog,Usage\na,0.9,0.1,Public', solution, /wrong columns: unexpected 'Usage'/],
    ['a row with too few fields', 'id,cat,dog\na,0.9', solution, /submission.csv line 2: expected 3 fields/],
    ['long: missing cells', 'ID,Label\nID_a_cat,0.9\nID_b_cat,0.1\nID_b_dog,0.3', longSolutionText, /missing ids: 1 \(ID_a_dog\)/],
    ['long: unknown class', 'ID,Label\nID_a_cat,0.9\nID_a_dog,0.2\nID_a_cow,0.1\nID_b_cat,0.1\nID_b_dog,0.3', longSolutionText, /extra ids: 1 \(ID_a_cow\)/],
    ['long: duplicate keys', 'ID,Label\nID_a_cat,0.9\nID_a_cat,0.2\nID_a_dog,0.1\nID_b_cat,0.1\nID_b_dog,0.3', longSolutionText, /line 3: duplicate id 'ID_a_cat' \(first on line 2\)/],
    ['long: malformed key', 'ID,Label\nIDacat,0.9', longSolutionText, /'IDacat' is not of the form ID_<id>_<class>/],
    ['a solution label that is not 0/1', 'id,cat,dog\na,0.9,0.1', 'id,cat,dog\na,0.5,0', /solution.csv line 2, column 'cat': solution label 0.5 for id 'a' is not 0 or 1/],
    ['an unknown Usage', 'id,cat,dog\na,0.9,0.1', 'id,cat,dog,Usage\na,1,0,Secret', /solution.csv line 2, column 'Usage': 'Secret' is not Public, Private or Ignored/],
  ])('%s', (_, submission, solutionText, message) => {
    expect(() => score(submission, solutionText)).toThrow(message);
  });

  it('rejects options that do not apply to the metric', () => {
    const ok = 'id,cat,dog\na,0.9,0.1\nb,0.2,0.8\nc,1,1';
    expect(() => score(ok, solution, { metric: 'auc', threshold: 0.3 })).toThrow(/--threshold applies to f2 only/);
    expect(() => score(ok, solution, { metric: 'logloss', average: 'macro' })).toThrow(/--average does not apply to logloss/);
    expect(() => score(ok, solution, { metric: 'wlogloss' })).toThrow(/class weight for 'any', which is not a class/);
  });
});

describe('long-format class inference', () => {
  it('takes the longest suffix shared by every id', () => {
    const keys = ['ID_p_1_liver_low', 'ID_p_1_liver_high', 'ID_p_1_any', 'ID_p_2_liver_low', 'ID_p_2_liver_high', 'ID_p_2_any'];
    expect(inferLongClasses(keys)).toEqual(['liver_low', 'liver_high', 'any']);
  });
  it('can be told the classes where ids share a trailing part', () => {
    const solution = 'ID,Label\nID_a_x_any,1\nID_b_x_any,0';
    const submission = 'image,any\na_x,0.8\nb_x,0.3';
    expect(() => score(submission, solution, { metric: 'auc' })).toThrow(/wrong columns: missing 'x_any'; unexpected 'any'/);
    expect(score(submission, solution, { metric: 'auc', classes: ['any'] }).all).toBe(1);
  });
});
