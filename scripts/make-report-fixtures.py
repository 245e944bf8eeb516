#!/usr/bin/python3
"""Expected values for the report's numbers, written as JSON so the tests need no Python:
- curves.json: scikit-learn's roc_curve, precision_recall_curve and fbeta_score over thresholds
  (test/metrics/curves.test.ts);
- student-t.json: scipy's Student t quantiles and t intervals of a mean (test/metrics/student-t.test.ts).

Run with the system Python, which has scikit-learn and scipy:  /usr/bin/python3 scripts/make-report-fixtures.py
ROC thresholds: scikit-learn 1.2 puts max(score) + 1 first where newer versions (and we) put infinity; the first
threshold is stored as null.
"""
import json
import os
import warnings

import numpy as np
import scipy
import sklearn
from scipy import stats
from sklearn.metrics import fbeta_score, precision_recall_curve, roc_curve

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'report')
warnings.filterwarnings('ignore')


def case(name, scores, labels, grid):
    scores = np.asarray(scores, dtype=np.float32).astype(np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    out = {'name': name, 'scores': scores.tolist(), 'labels': labels.tolist(), 'grid': grid}
    fpr, tpr, roc_thresholds = roc_curve(labels, scores)
    full_fpr, full_tpr, full_thresholds = roc_curve(labels, scores, drop_intermediate=False)
    out['roc'] = {'fpr': fpr.tolist(), 'tpr': tpr.tolist(), 'thresholds': [None] + roc_thresholds[1:].tolist()}
    out['rocFull'] = {'fpr': full_fpr.tolist(), 'tpr': full_tpr.tolist(), 'thresholds': [None] + full_thresholds[1:].tolist()}
    precision, recall, pr_thresholds = precision_recall_curve(labels, scores)
    out['pr'] = {'precision': precision.tolist(), 'recall': recall.tolist(), 'thresholds': pr_thresholds.tolist()}
    for zero_division in (0, 1):
        out[f'f2_zero{zero_division}'] = [
            float(fbeta_score(labels, (scores >= t).astype(np.int64), beta=2, zero_division=zero_division)) for t in grid
        ]
    return out


def student_t():
    # scipy's cdf is exact to rounding; its ppf (an iterative inverse) is good to about 1e-9 only.
    cdf = [{'t': t, 'df': df, 'p': float(stats.t.cdf(t, df))} for df in (1, 2, 3, 4, 7, 10, 30, 200) for t in (-3.2, -0.4, 0.0, 0.7, 1.5, 2.1, 4.3, 12.0)]
    quantiles = [
        {'p': p, 'df': df, 'quantile': float(stats.t.ppf(p, df))}
        for df in (1, 2, 3, 4, 7, 10, 30, 200)
        for p in (0.5, 0.6, 0.9, 0.95, 0.975, 0.995, 0.025)
    ]
    samples = [[0.71, 0.7045, 0.7041], [0.62, 0.58], [0.5, 0.52, 0.49, 0.55, 0.51], [0.8, 0.8, 0.8]]
    intervals = []
    for values in samples:
        for confidence in (0.9, 0.95):
            lower, upper = stats.t.interval(confidence, len(values) - 1, loc=np.mean(values), scale=stats.sem(values))
            if np.std(values) == 0:
                lower, upper = np.mean(values), np.mean(values)
            intervals.append({'values': values, 'confidence': confidence, 'mean': float(np.mean(values)), 'lower': float(lower), 'upper': float(upper)})
    return {'scipy': scipy.__version__, 'cdf': cdf, 'quantiles': quantiles, 'intervals': intervals}


def main():
    rng = np.random.default_rng(20240611)
    grid = [i / 20 for i in range(21)] + [0.333, 0.9999]
    cases = [
        case('small', [0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1], grid),
        case('ties', np.round(rng.random(60), 1), (rng.random(60) < 0.4).astype(int), grid),
        case('random', rng.random(200), (rng.random(200) < 0.2).astype(int), grid),
        case('perfect', [0.9, 0.8, 0.3, 0.2, 0.1], [1, 1, 0, 0, 0], grid),
    ]
    with open(os.path.join(OUT, 'curves.json'), 'w') as f:
        json.dump({'sklearn': sklearn.__version__, 'cases': cases}, f)
        f.write('\n')
    with open(os.path.join(OUT, 'student-t.json'), 'w') as f:
        json.dump(student_t(), f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
