#!/usr/bin/python3
"""Expected dense-ordinal map metrics from scikit-learn, as a JSON fixture for test/metrics/dense-ordinal.test.ts.

Run with the system Python, which has scikit-learn (Debian python3-sklearn):
    /usr/bin/python3 scripts/make-dense-ordinal-fixtures.py
Each case: small maps [slices, rows, cols, types] of true grades (255 = unlabelled) and float32 regression outputs.
Per type, over its labelled pixels: mean_absolute_error of the output against the grade, the grade read by the
thresholds (value > t counts), accuracy_score, the MAE of the grades, cohen_kappa_score(weights='quadratic'),
f1_score(average=None) per grade (Dice; null for a grade neither true nor predicted) and confusion_matrix.
"""
import json
import os
import warnings

import numpy as np
import sklearn
from sklearn.metrics import accuracy_score, cohen_kappa_score, confusion_matrix, f1_score, mean_absolute_error

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'metrics', 'dense-ordinal.json')
IGNORE = 255
warnings.filterwarnings('ignore')


def grades_of(values, thresholds):
    return np.sum(values[:, None] > np.asarray(thresholds)[None, :], axis=1)


def case(name, rng, slices, rows, cols, levels, thresholds, ignore_fraction, noise):
    types = len(thresholds)
    truth = rng.integers(0, levels, size=(slices, rows, cols, types))
    outputs = (truth + rng.normal(0, noise, size=truth.shape)).astype(np.float32)
    truth = np.where(rng.random(truth.shape) < ignore_fraction, IGNORE, truth)
    expected = []
    for t in range(types):
        y = truth[..., t].ravel()
        v = outputs[..., t].ravel().astype(np.float64)
        keep = y != IGNORE
        y, v = y[keep], v[keep]
        g = grades_of(v, thresholds[t])
        labels = list(range(levels))
        dice = f1_score(y, g, labels=labels, average=None, zero_division=0)
        present = [(np.sum(y == k) + np.sum(g == k)) > 0 for k in labels]
        kappa = cohen_kappa_score(y, g, labels=labels, weights='quadratic')
        expected.append({
            'pixels': int(keep.sum()),
            'pixel_mae': float(mean_absolute_error(y, v)),
            'accuracy': float(accuracy_score(y, g)),
            'grade_mae': float(mean_absolute_error(y, g)),
            'qwk': None if np.isnan(kappa) else float(kappa),
            'dice': [float(d) if p else None for d, p in zip(dice, present)],
            'confusion': confusion_matrix(y, g, labels=labels).tolist(),
        })
    return {
        'name': name, 'shape': [slices, rows, cols, types], 'levels': levels, 'ignoreValue': IGNORE,
        'thresholds': [list(map(float, th)) for th in thresholds],
        'truth': [int(x) for x in truth.ravel()], 'outputs': [float(x) for x in outputs.ravel()],
        'expected': expected,
    }


def main():
    rng = np.random.default_rng(17)
    cases = [
        case('fixed thresholds, some unlabelled', rng, 2, 6, 5, 4, [[0.5, 1.5, 2.5]] * 3, 0.15, 0.6),
        case('per-type thresholds, noisy', rng, 3, 4, 4, 4, [[0.5, 1.5, 2.5], [0.3, 1.2, 2.8], [0.7, 1.6, 2.2]], 0.1, 1.2),
        case('three levels, a grade never predicted', rng, 1, 8, 8, 3, [[0.5, 1.5], [0.5, 5.0]], 0.0, 0.4),
    ]
    with open(OUT, 'w') as f:
        json.dump({'generator': 'scripts/make-dense-ordinal-fixtures.py', 'sklearn': sklearn.__version__, 'cases': cases}, f)
        f.write('\n')
    print(f'wrote {OUT} ({len(cases)} cases)')


if __name__ == '__main__':
    main()
