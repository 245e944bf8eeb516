#!/usr/bin/python3
"""Expected metric values from scikit-learn, written as JSON fixtures for test/metrics (the tests need no Python).

Run with the system Python, which has scikit-learn:  /usr/bin/python3 scripts/make-metric-fixtures.py
Scores are float32 (as the models emit them) stored exactly as doubles; sklearn sees them as float64.
Our policies that differ from sklearn's (undefined ROC-AUC / average-precision classes are left out of averages
instead of raising or scoring 0; `absentClasses: 'exclude'`) are computed here by applying sklearn to the kept
columns, so the fixtures still come from sklearn.
"""
import json
import os
import warnings

import numpy as np
import sklearn
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    cohen_kappa_score,
    confusion_matrix,
    fbeta_score,
    log_loss,
    multilabel_confusion_matrix,
    precision_recall_fscore_support,
    roc_auc_score,
)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'metrics')
warnings.filterwarnings('ignore')


def scores_f32(rng, rows, cols, decimals=None):
    s = rng.random((rows, cols))
    if decimals is not None:
        s = np.round(s, decimals)  # coarse scores make ties
    return s.astype(np.float32)


def labels(rng, rows, cols, p=0.35):
    return (rng.random((rows, cols)) < p).astype(np.uint8)


def flat(a):
    return [float(v) for v in np.asarray(a, dtype=np.float64).ravel()]


def case(name, scores, targets, **extra):
    return {'name': name, 'rows': int(scores.shape[0]), 'cols': int(scores.shape[1]),
            'scores': flat(scores), 'targets': [int(v) for v in targets.ravel()], **extra}


def num(x):
    return None if x is None or (isinstance(x, float) and np.isnan(x)) else float(x)


# ---------------------------------------------------------------- F-beta, precision, recall
def fbeta_expected(scores, targets, threshold, beta, zero_division):
    pred = (scores.astype(np.float64) >= np.asarray(threshold, dtype=np.float64)).astype(np.uint8)
    out = {}
    for average in ['samples', 'micro', 'macro', 'weighted']:
        p, r, f, _ = precision_recall_fscore_support(targets, pred, beta=beta, average=average, zero_division=zero_division)
        assert np.isclose(f, fbeta_score(targets, pred, beta=beta, average=average, zero_division=zero_division))
        out[average] = {'precision': float(p), 'recall': float(r), 'fbeta': float(f)}
    p, r, f, s = precision_recall_fscore_support(targets, pred, beta=beta, average=None, zero_division=zero_division)
    out['perClass'] = {'precision': flat(p), 'recall': flat(r), 'fbeta': flat(f), 'support': [int(v) for v in s]}
    return out


def fbeta_case(name, scores, targets, threshold=0.5, beta=2.0, zero_division=0, exclude_absent=False):
    thr = threshold if np.isscalar(threshold) else [float(np.float32(t)) for t in threshold]
    c = case(name, scores, targets, threshold=thr, beta=beta, zeroDivision=zero_division,
             expected=fbeta_expected(scores, targets, thr, beta, zero_division))
    if exclude_absent:
        kept = np.flatnonzero(targets.sum(axis=0) > 0)
        sub_thr = thr if np.isscalar(thr) else [thr[j] for j in kept]
        c['keptColumns'] = [int(j) for j in kept]
        c['expectedExcludeAbsent'] = fbeta_expected(scores[:, kept], targets[:, kept], sub_thr, beta, zero_division)
    return c


def fbeta_cases():
    rng = np.random.default_rng(20240601)
    cases = []
    for i, (rows, cols, beta) in enumerate([(40, 5, 2.0), (25, 3, 1.0), (60, 7, 0.5), (33, 4, 3.0)]):
        s, t = scores_f32(rng, rows, cols), labels(rng, rows, cols)
        for zd in (0, 1):
            cases.append(fbeta_case(f'random-{i}-zd{zd}', s, t, beta=beta, zero_division=zd))
    # Rows with no true and no predicted labels: the samples average follows zero_division.
    s, t = scores_f32(rng, 20, 4), labels(rng, 20, 4)
    s[:6] *= np.float32(0.4)
    t[:6] = 0
    for zd in (0, 1):
        cases.append(fbeta_case(f'all-negative-rows-zd{zd}', s, t, zero_division=zd))
    s, t = scores_f32(rng, 15, 4), labels(rng, 15, 4)
    t[:5] = 1
    s[:3] = np.float32(0.9)
    cases.append(fbeta_case('all-positive-rows', s, t))
    # Scores exactly at the threshold are positive (score >= threshold).
    s, t = scores_f32(rng, 30, 4, decimals=1), labels(rng, 30, 4)
    cases.append(fbeta_case('ties-at-threshold', s, t))
    # Absent classes: one never predicted (scored by zero_division), one predicted anyway (scored 0).
    s, t = scores_f32(rng, 24, 5), labels(rng, 24, 5)
    t[:, 1] = 0
    s[:, 1] *= np.float32(0.3)
    t[:, 3] = 0
    for zd in (0, 1):
        cases.append(fbeta_case(f'absent-classes-zd{zd}', s, t, zero_division=zd, exclude_absent=True))
    # No positive target anywhere: the weighted average's special case.
    s, t = scores_f32(rng, 10, 3), np.zeros((10, 3), dtype=np.uint8)
    for zd in (0, 1):
        cases.append(fbeta_case(f'no-positive-targets-zd{zd}', s, t, zero_division=zd))
    s = (scores_f32(rng, 10, 3) * np.float32(0.4)).astype(np.float32)
    cases.append(fbeta_case('nothing-true-nothing-predicted-zd1', s, t, zero_division=1))
    s, t = scores_f32(rng, 1, 6), labels(rng, 1, 6, p=0.5)
    for zd in (0, 1):
        cases.append(fbeta_case(f'single-patient-zd{zd}', s, t, zero_division=zd))
    s, t = scores_f32(rng, 35, 4), labels(rng, 35, 4)
    cases.append(fbeta_case('per-class-thresholds', s, t, threshold=[0.2, 0.35, 0.6, 0.8]))
    cases.append(fbeta_case('global-threshold-0.3', s, t, threshold=0.3))
    return cases


# ---------------------------------------------------------------- ranking metrics
def ranking_expected(metric, scores, targets, defined):
    s, t = scores.astype(np.float64), targets
    per_class = [float(metric(t[:, j], s[:, j])) if defined(t[:, j]) else None for j in range(t.shape[1])]
    kept = [j for j in range(t.shape[1]) if per_class[j] is not None]
    macro = float(np.mean([per_class[j] for j in kept])) if kept else None
    weighted = None
    if kept and t[:, kept].sum() > 0:
        weighted = float(metric(t[:, kept], s[:, kept], average='weighted')) if len(kept) > 1 else per_class[kept[0]]
    micro = float(metric(t.ravel(), s.ravel())) if defined(t.ravel()) else None
    if len(kept) == t.shape[1] and t.shape[1] > 1:
        assert np.isclose(macro, metric(t, s, average='macro'))
    return {'perClass': per_class, 'macro': macro, 'weighted': weighted, 'micro': micro}


def ranking_cases(metric, defined):
    rng = np.random.default_rng(7)
    cases = []
    for i, (rows, cols) in enumerate([(50, 5), (30, 3), (80, 6)]):
        s, t = scores_f32(rng, rows, cols), labels(rng, rows, cols)
        cases.append(case(f'random-{i}', s, t, expected=ranking_expected(metric, s, t, defined)))
    t = labels(rng, 60, 5)
    s = (0.45 * t + 0.55 * rng.random((60, 5))).astype(np.float32)  # informative probabilities: AUCs well above 0.5
    cases.append(case('informative', s, t, expected=ranking_expected(metric, s, t, defined)))
    s, t = scores_f32(rng, 40, 4, decimals=1), labels(rng, 40, 4)
    cases.append(case('ties', s, t, expected=ranking_expected(metric, s, t, defined)))
    s, t = scores_f32(rng, 40, 4, decimals=0), labels(rng, 40, 4)
    cases.append(case('heavy-ties', s, t, expected=ranking_expected(metric, s, t, defined)))
    s, t = scores_f32(rng, 30, 5), labels(rng, 30, 5)
    t[:, 1] = 0
    t[:, 4] = 1
    cases.append(case('absent-and-all-positive-classes', s, t, expected=ranking_expected(metric, s, t, defined)))
    t2 = t.copy()
    t2[:8] = 0
    cases.append(case('all-negative-rows', s, t2, expected=ranking_expected(metric, s, t2, defined)))
    s, t = scores_f32(rng, 1, 4), labels(rng, 1, 4, p=0.5)
    cases.append(case('single-patient', s, t, expected=ranking_expected(metric, s, t, defined)))
    s, t = scores_f32(rng, 20, 3), np.zeros((20, 3), dtype=np.uint8)
    cases.append(case('no-positive-targets', s, t, expected=ranking_expected(metric, s, t, defined)))
    return cases


def both_values(y):
    return 0 < y.sum() < y.size


def has_positive(y):
    return y.sum() > 0


# ---------------------------------------------------------------- log loss
def log_loss_cases():
    rng = np.random.default_rng(11)
    classes = ['epidural', 'intraparenchymal', 'intraventricular', 'subarachnoid', 'subdural', 'any']
    cases = []

    def expected(s, t, eps):
        s64 = s.astype(np.float64)
        per_class = [float(log_loss(t[:, j], s64[:, j], eps=eps, labels=[0, 1])) for j in range(t.shape[1])]
        weights = np.array([2.0 if c == 'any' else 1.0 for c in classes])
        return {'mean': float(np.mean(per_class)), 'perClass': per_class,
                'rsnaWeighted': float(np.dot(weights, per_class) / weights.sum())}

    for i, rows in enumerate([40, 17]):
        s, t = scores_f32(rng, rows, 6), labels(rng, rows, 6)
        cases.append(case(f'random-{i}', s, t, eps=1e-15, classNames=classes, expected=expected(s, t, 1e-15)))
    s, t = scores_f32(rng, 12, 6), labels(rng, 12, 6)
    s[0, :] = 0.0
    s[1, :] = 1.0
    t[0, :] = 1
    t[1, :] = 0
    for eps in (1e-15, 1e-7):
        cases.append(case(f'clipped-extremes-eps{eps:g}', s, t, eps=eps, classNames=classes, expected=expected(s, t, eps)))
    s, t = scores_f32(rng, 1, 6), labels(rng, 1, 6, p=0.5)
    cases.append(case('single-patient', s, t, eps=1e-15, classNames=classes, expected=expected(s, t, 1e-15)))
    return cases


# ---------------------------------------------------------------- ordinal
def ordinal_cases():
    rng = np.random.default_rng(3)
    cases = []

    def add(name, y, p, levels):
        qwk = cohen_kappa_score(y, p, weights='quadratic', labels=list(range(levels)))
        cases.append({'name': name, 'levels': levels, 'trueGrades': [int(v) for v in y], 'predictedGrades': [int(v) for v in p],
                      'expected': {'accuracy': float(np.mean(y == p)), 'mae': float(np.mean(np.abs(y - p))), 'qwk': num(float(qwk))}})

    for i, (n, levels) in enumerate([(50, 3), (40, 5), (25, 4)]):
        y = rng.integers(0, levels, n)
        p = np.clip(y + rng.integers(-1, 2, n), 0, levels - 1)
        add(f'random-{i}', y, p, levels)
    y = rng.integers(0, 4, 30)
    add('independent', y, rng.integers(0, 4, 30), 4)
    add('perfect', y, y.copy(), 4)
    y = np.array([0, 2, 2, 0, 2, 0, 0, 2])
    add('grades-with-a-gap', y, np.array([0, 2, 0, 0, 2, 2, 0, 2]), 3)
    add('one-grade-everywhere', np.zeros(6, dtype=int), np.zeros(6, dtype=int), 3)
    add('single-patient', np.array([1]), np.array([2]), 3)
    return cases


# ---------------------------------------------------------------- confusion
def confusion_cases():
    rng = np.random.default_rng(5)
    cases = []
    s, t = scores_f32(rng, 30, 4, decimals=1), labels(rng, 30, 4)
    t[:, 2] = 0
    pred = (s.astype(np.float64) >= 0.5).astype(np.uint8)
    cases.append(case('multilabel', s, t, kind='multilabel', threshold=0.5,
                      expected=multilabel_confusion_matrix(t, pred).tolist()))
    k = 4
    s = scores_f32(rng, 40, k)
    true = rng.integers(0, k - 1, 40)  # class 3 never true
    onehot = np.eye(k, dtype=np.uint8)[true]
    cases.append(case('categorical', s, onehot, kind='categorical',
                      expected=confusion_matrix(true, s.argmax(axis=1), labels=list(range(k))).tolist()))
    return cases


# ---------------------------------------------------------------- submissions (scored per Usage split)
def submission_cases():
    rng = np.random.default_rng(13)
    classes = ['epidural', 'intra_parenchymal', 'subdural', 'any']  # one name with '_' exercises long-key splitting
    n = 16
    ids = [f'p_{i:03d}' for i in range(n)]  # ids with '_' too
    targets = labels(rng, n, len(classes), p=0.4)
    targets[:, 3] = targets[:, :3].max(axis=1)
    targets[5] = 0
    scores = np.round(0.3 * targets + 0.7 * rng.random((n, len(classes))), 4)  # float64, exact in 6 digits
    scores[2, 0] = 0.5  # a score exactly at the threshold
    usage = ['Public' if i % 3 else 'Private' for i in range(n)]
    usage[7] = 'Ignored'
    splits = {'public': [i for i in range(n) if usage[i] == 'Public'], 'private': [i for i in range(n) if usage[i] == 'Private'],
              'all': [i for i in range(n) if usage[i] != 'Ignored']}
    weights = np.array([2.0 if c == 'any' else 1.0 for c in classes])

    def per_split(fn):
        return {name: float(fn(targets[rows], scores[rows])) for name, rows in splits.items()}

    def f2(average, threshold=0.5, zd=0):
        return per_split(lambda t, s: fbeta_score(t, (s >= threshold).astype(int), beta=2, average=average, zero_division=zd))

    def wlogloss(t, s):
        per_class = [log_loss(t[:, j], s[:, j], eps=1e-15, labels=[0, 1]) for j in range(t.shape[1])]
        return np.dot(weights, per_class) / weights.sum()

    expected = {
        'f2': f2('samples'), 'f2-micro': f2('micro'), 'f2-macro': f2('macro'), 'f2-threshold-0.3': f2('samples', 0.3),
        'auc': per_split(lambda t, s: roc_auc_score(t, s, average='macro')),
        'auc-micro': per_split(lambda t, s: roc_auc_score(t, s, average='micro')),
        'logloss': per_split(lambda t, s: np.mean([log_loss(t[:, j], s[:, j], eps=1e-15, labels=[0, 1]) for j in range(t.shape[1])])),
        'wlogloss': per_split(wlogloss),
    }
    tag_pred = (scores >= 0.5).astype(int)
    expected['tags-f2'] = {name: float(fbeta_score(targets[rows], tag_pred[rows], beta=2, average='samples', zero_division=0))
                           for name, rows in splits.items()}
    return [{'name': 'rsna-like', 'ids': ids, 'classes': classes, 'targets': [int(v) for v in targets.ravel()],
             'scores': flat(scores), 'usage': usage, 'expected': expected}]


# ---------------------------------------------------------------- calibration
def reference_bins(p, y, n_bins):
    """Reliability bins: sklearn's calibration_curve for the non-empty bins' means, plus each bin's count."""
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    ids = np.searchsorted(edges[1:-1], p)
    counts = np.bincount(ids, minlength=n_bins)
    frac, mean = calibration_curve(y, p, n_bins=n_bins, strategy='uniform')
    kept = np.flatnonzero(counts)
    assert len(kept) == len(frac)
    return [{'count': int(counts[b]),
             'meanPredicted': float(mean[list(kept).index(b)]) if counts[b] else None,
             'fractionPositive': float(frac[list(kept).index(b)]) if counts[b] else None} for b in range(n_bins)]


def reference_ece(p, y, n_bins):
    """Expected calibration error: bin-count-weighted |fraction positive - mean probability| over the bins above."""
    bins = reference_bins(p, y, n_bins)
    return float(sum(b['count'] / len(p) * abs(b['fractionPositive'] - b['meanPredicted']) for b in bins if b['count']))


def calibration_cases():
    rng = np.random.default_rng(17)
    cases = []

    def add(name, s, t, n_bins=10):
        s64 = s.astype(np.float64)
        per_brier = [float(brier_score_loss(t[:, j], s64[:, j], pos_label=1)) for j in range(t.shape[1])]
        per_ece = [reference_ece(s64[:, j], t[:, j], n_bins) for j in range(t.shape[1])]
        cases.append(case(name, s, t, bins=n_bins, expected={
            'brier': {'perClass': per_brier, 'macro': float(np.mean(per_brier)),
                      'micro': float(brier_score_loss(t.ravel(), s64.ravel(), pos_label=1))},
            'ece': {'perClass': per_ece, 'macro': float(np.mean(per_ece)), 'micro': reference_ece(s64.ravel(), t.ravel(), n_bins)},
            'binsPerClass': [reference_bins(s64[:, j], t[:, j], n_bins) for j in range(t.shape[1])],
            'binsPooled': reference_bins(s64.ravel(), t.ravel(), n_bins),
        }))

    for i, (rows, cols) in enumerate([(60, 4), (25, 3)]):
        add(f'random-{i}', scores_f32(rng, rows, cols), labels(rng, rows, cols))
    t = labels(rng, 80, 5)
    add('informative', (0.5 * t + 0.5 * rng.random((80, 5))).astype(np.float32), t)
    # Scores on the bin edges (0, 0.1, ..., 1) go to the bin below, as in calibration_curve.
    s, t = scores_f32(rng, 50, 3, decimals=1), labels(rng, 50, 3)
    add('scores-on-edges', s, t)
    add('scores-on-edges-5-bins', s, t, n_bins=5)
    s, t = scores_f32(rng, 30, 3), labels(rng, 30, 3)
    t[:, 1] = 0
    t[:, 2] = 1
    add('one-label-value-classes', s, t, n_bins=15)
    s, t = scores_f32(rng, 1, 4), labels(rng, 1, 4, p=0.5)
    add('single-patient', s, t)
    return cases


def write(name, cases):
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, f'{name}.json')
    with open(path, 'w') as f:
        json.dump({'generator': 'scripts/make-metric-fixtures.py', 'sklearn': sklearn.__version__, 'cases': cases}, f)
        f.write('\n')
    print(f'{path}: {len(cases)} cases')


if __name__ == '__main__':
    write('fbeta', fbeta_cases())
    write('roc-auc', ranking_cases(roc_auc_score, both_values))
    write('average-precision', ranking_cases(average_precision_score, has_positive))
    write('log-loss', log_loss_cases())
    write('ordinal', ordinal_cases())
    write('confusion', confusion_cases())
    write('submission', submission_cases())
    write('calibration', calibration_cases())
