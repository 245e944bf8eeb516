#!/usr/bin/python3
"""Scores an RSNA-format Kaggle submission against a solution with scikit-learn: the independent check of
`sliceseq score` (the tests need no Python; the end-to-end leaderboard test runs this when python3-sklearn is there).

  /usr/bin/python3 scripts/score-submission.py SUBMISSION.csv SOLUTION.csv   prints the scores as JSON
  /usr/bin/python3 scripts/score-submission.py --write-fixtures             writes test/fixtures/leaderboard/

Both files are `ID,Label` with keys `ID_<image>_<class>`; the solution adds `Usage` (Public / Private / Ignored).
Scores per split (public, private, all = not Ignored): mean F2 over images (fbeta_score average='samples',
threshold 0.5, zero_division=1, sliceseq's default) and RSNA's weighted log loss (`any` weighs 2, each subtype 1;
the mean over classes of sklearn's log_loss, weighted). Parsing is written here from the format, not shared with
sliceseq, so the check is independent.
"""
import csv
import json
import os
import sys

import numpy as np
import sklearn
from sklearn.metrics import fbeta_score, log_loss

CLASSES = ['epidural', 'intraparenchymal', 'intraventricular', 'subarachnoid', 'subdural', 'any']
WEIGHTS = np.array([2.0 if c == 'any' else 1.0 for c in CLASSES])
FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'leaderboard')


def read(path, with_usage):
    """image -> {class: value}, and image -> Usage."""
    values, usage = {}, {}
    with open(path, newline='') as f:
        for row in csv.DictReader(f):
            key = row['ID']
            cls = next(c for c in CLASSES if key.endswith('_' + c))
            image = key[len('ID_'):-len(cls) - 1]
            values.setdefault(image, {})[cls] = float(row['Label'])
            if with_usage:
                usage[image] = row['Usage']
    return values, usage


def score(submission_path, solution_path):
    predicted, _ = read(submission_path, False)
    truth, usage = read(solution_path, True)
    if set(predicted) != set(truth):
        raise SystemExit(f'{submission_path}: its images differ from the solution\'s')
    images = sorted(truth)
    t = np.array([[truth[i][c] for c in CLASSES] for i in images], dtype=int)
    p = np.array([[predicted[i][c] for c in CLASSES] for i in images])
    splits = {
        'public': [r for r, i in enumerate(images) if usage[i] == 'Public'],
        'private': [r for r, i in enumerate(images) if usage[i] == 'Private'],
        'all': [r for r, i in enumerate(images) if usage[i] != 'Ignored'],
    }
    out = {'f2': {}, 'wlogloss': {}}
    for name, rows in splits.items():
        tt, pp = t[rows], p[rows]
        out['f2'][name] = float(fbeta_score(tt, (pp >= 0.5).astype(int), beta=2, average='samples', zero_division=1))
        per_class = [log_loss(tt[:, j], pp[:, j], eps=1e-15, labels=[0, 1]) for j in range(len(CLASSES))]
        out['wlogloss'][name] = float(np.dot(WEIGHTS, per_class) / WEIGHTS.sum())
    return out


def write_fixtures():
    """A seeded RSNA-like test set: 30 images of 6 studies, mostly normal (so zero division matters), Public/Private by study."""
    rng = np.random.default_rng(2019)
    studies = [f'{s:02d}' for s in range(6)]
    rows = []
    for s, study in enumerate(studies):
        usage = 'Public' if s % 2 == 0 else 'Private'
        for k in range(5):
            image = f'{rng.integers(16**9):09x}'
            subtypes = (rng.random(5) < (0.25 if s % 3 else 0.0)).astype(int)
            target = list(subtypes) + [int(subtypes.max())]
            noise = rng.random(6)
            prob = np.round(np.clip(0.35 * np.array(target) + 0.65 * noise, 0.001, 0.999), 4)
            rows.append((image, target, prob, usage))
    os.makedirs(FIXTURES, exist_ok=True)
    sub, sol = os.path.join(FIXTURES, 'submission.csv'), os.path.join(FIXTURES, 'solution.csv')
    with open(sub, 'w') as f:
        f.write('ID,Label\n')
        for image, _, prob, _ in rows:
            for c, v in zip(CLASSES, prob):
                f.write(f'ID_{image}_{c},{v:g}\n')
    with open(sol, 'w') as f:
        f.write('ID,Label,Usage\n')
        for image, target, _, usage in rows:
            for c, v in zip(CLASSES, target):
                f.write(f'ID_{image}_{c},{v},{usage}\n')
    expected = {'generator': 'scripts/score-submission.py --write-fixtures', 'sklearn': sklearn.__version__, **score(sub, sol)}
    with open(os.path.join(FIXTURES, 'expected.json'), 'w') as f:
        json.dump(expected, f, indent=1)
        f.write('\n')
    print(f'{FIXTURES}: {len(rows)} images')


if __name__ == '__main__':
    if sys.argv[1:] == ['--write-fixtures']:
        write_fixtures()
    elif len(sys.argv) == 3:
        print(json.dumps(score(sys.argv[1], sys.argv[2])))
    else:
        raise SystemExit(__doc__)
