#!/usr/bin/python3
"""Reference values and gradients for the losses in src/losses, written to test/fixtures/losses/<loss>.json.

Run with the system interpreter that has torch 1.13:  /usr/bin/python3 scripts/make-loss-fixtures.py

Every reference is computed in float64 with torch autograd, from each loss's textbook formula:
- asl: the asymmetric loss of Ridnik et al. (ICCV 2021), written the naive way the paper states it
  (p = sigmoid(x), negatives' probability shifted by the clip, probabilities floored at eps, focusing weight
  (1 - p_t) ** gamma with a per-element gamma). At logits of +-100 that naive form can give inf/nan
  gradients (a 0 ** (gamma - 1) times a zero from a clamp); for those cases the fixture also carries a
  float64 evaluation of the same formula written with stable pieces (log-sigmoid, sigmoid(-x) for 1 - p,
  a guarded power), and the script checks both agree wherever the naive one is finite.
- bce: torch.nn.functional.binary_cross_entropy_with_logits (binary label smoothing applied to the targets).
- focal: the sigmoid focal loss of Lin et al. (BCE-with-logits times (1 - p_t) ** gamma, optional alpha).
- categorical-ce: torch.nn.functional.cross_entropy with label_smoothing.
- mse / mae: torch.nn.functional.mse_loss / l1_loss.
- cumulative-bce: binary_cross_entropy_with_logits on the expanded targets [grade > 0, grade > 1, ...].

Weighted ('mean') reductions divide by the sum of the weights broadcast to the loss elements, which is the
number of unmasked elements for a 0/1 mask.
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, 'test', 'fixtures', 'losses')
RNG = np.random.default_rng(20240611)
EXTREMES = [-100.0, -20.0, -1.0, 0.0, 1.0, 20.0, 100.0, 5.0]


def tensor(values):
    return torch.tensor(np.asarray(values, dtype=np.float64), dtype=torch.float64)


def finite_or_none(values):
    return [float(v) if math.isfinite(v) else None for v in np.asarray(values, dtype=np.float64).ravel()]


def value_and_grad(fn, logits):
    x = tensor(logits).requires_grad_(True)
    value = fn(x)
    value.backward()
    return float(value.detach()), x.grad.detach().numpy()


def reduce(elements, weights, reduction):
    """Sum or weighted mean of per-element losses; weights broadcast from a leading-prefix shape."""
    if weights is None:
        return elements.sum() if reduction == 'sum' else elements.mean()
    w = tensor(weights)
    w = w.reshape(list(w.shape) + [1] * (elements.dim() - w.dim())).expand_as(elements)
    total = (elements * w).sum()
    return total if reduction == 'sum' else total / w.sum()


# ---------------------------------------------------------------- inputs

def random_logits(shape, scale=3.0):
    return RNG.normal(0.0, scale, size=shape)


def random_binary(shape, rate=0.35):
    return (RNG.random(shape) < rate).astype(np.float64)


def extreme_binary_inputs():
    """Every extreme logit against both targets: row 0 all positives, row 1 all negatives."""
    logits = np.array([EXTREMES, EXTREMES])
    targets = np.array([[1.0] * len(EXTREMES), [0.0] * len(EXTREMES)])
    return logits, targets


def slice_mask():
    """Two patients of three slices, the second patient padded after one slice."""
    return np.array([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]])


# ---------------------------------------------------------------- asl

def asl_naive(x, y, gamma_neg, gamma_pos, clip, eps, stop_gradient_focusing):
    p = torch.sigmoid(x)
    p_neg = 1.0 - p
    if clip > 0:
        p_neg = (p_neg + clip).clamp(max=1.0)
    log_likelihood = y * torch.log(p.clamp(min=eps)) + (1.0 - y) * torch.log(p_neg.clamp(min=eps))
    if gamma_neg > 0 or gamma_pos > 0:
        with torch.set_grad_enabled(torch.is_grad_enabled() and not stop_gradient_focusing):
            p_t = p * y + p_neg * (1.0 - y)
            gamma = gamma_pos * y + gamma_neg * (1.0 - y)
            focusing = torch.pow(1.0 - p_t, gamma)
        log_likelihood = log_likelihood * focusing
    return -log_likelihood


def guarded_pow(base, gamma):
    """base ** gamma with zero base mapped to its limit and a finite gradient there."""
    if gamma == 0:
        return torch.ones_like(base)
    positive = base > 0
    safe = torch.where(positive, base, torch.ones_like(base))
    return torch.where(positive, torch.pow(safe, gamma), torch.zeros_like(base))


def asl_stable(x, y, gamma_neg, gamma_pos, clip, eps, stop_gradient_focusing):
    log_floor = math.log(eps)
    log_p = F.logsigmoid(x).clamp(min=log_floor)
    if clip > 0:
        log_p_neg = torch.log((torch.sigmoid(-x) + clip).clamp(max=1.0).clamp(min=eps))
    else:
        log_p_neg = F.logsigmoid(-x).clamp(min=log_floor)
    with torch.set_grad_enabled(torch.is_grad_enabled() and not stop_gradient_focusing):
        focusing_pos = guarded_pow(torch.sigmoid(-x), gamma_pos)
        focusing_neg = guarded_pow(torch.relu(torch.sigmoid(x) - clip), gamma_neg)
    return -(y * log_p * focusing_pos + (1.0 - y) * log_p_neg * focusing_neg)


def asl_case(name, inputs, settings, reduction='sum', weights=None):
    logits, targets = inputs
    y = tensor(targets)
    args = (settings['gamma_neg'], settings['gamma_pos'], settings['clip'], settings['eps'],
            settings['stopGradientFocusing'])
    naive_value, naive_grad = value_and_grad(lambda x: reduce(asl_naive(x, y, *args), weights, reduction), logits)
    stable_value, stable_grad = value_and_grad(lambda x: reduce(asl_stable(x, y, *args), weights, reduction), logits)
    finite = np.isfinite(naive_grad)
    assert math.isfinite(stable_value) and np.all(np.isfinite(stable_grad)), name
    if math.isfinite(naive_value):
        assert abs(naive_value - stable_value) <= 1e-9 * max(1.0, abs(naive_value)), (name, naive_value, stable_value)
    assert np.allclose(naive_grad[finite], stable_grad[finite], rtol=1e-9, atol=1e-12), name
    return {
        'name': name,
        'config': {'name': 'asl', **settings, 'reduction': reduction},
        'shape': list(np.shape(logits)),
        'logits': np.ravel(logits).tolist(),
        'targets': np.ravel(targets).tolist(),
        'weights': None if weights is None else np.ravel(weights).tolist(),
        'weightsShape': None if weights is None else list(np.shape(weights)),
        # The paper's formula evaluated naively; null where it is not finite.
        'value': naive_value if math.isfinite(naive_value) else None,
        'grad': finite_or_none(naive_grad),
        # The same formula with stable pieces: the limit the naive form misses.
        'stableValue': stable_value,
        'stableGrad': np.ravel(stable_grad).tolist(),
    }


def asl_fixture():
    settings_list = [
        ('paper-default', dict(gamma_neg=4, gamma_pos=1, clip=0.05, eps=1e-8, stopGradientFocusing=False)),
        ('bce-equivalent', dict(gamma_neg=0, gamma_pos=0, clip=0.0, eps=1e-8, stopGradientFocusing=False)),
        ('no-positive-focusing', dict(gamma_neg=2, gamma_pos=0, clip=0.1, eps=1e-8, stopGradientFocusing=False)),
        ('symmetric-no-clip', dict(gamma_neg=1, gamma_pos=1, clip=0.0, eps=1e-8, stopGradientFocusing=False)),
        ('fractional-gamma', dict(gamma_neg=0.5, gamma_pos=2, clip=0.2, eps=1e-8, stopGradientFocusing=False)),
        ('stop-gradient-focusing', dict(gamma_neg=4, gamma_pos=1, clip=0.05, eps=1e-8, stopGradientFocusing=True)),
    ]
    cases = []
    for label, settings in settings_list:
        shape = (5, 7)
        cases.append(asl_case(f'{label} random', (random_logits(shape), random_binary(shape)), settings))
        cases.append(asl_case(f'{label} extreme', extreme_binary_inputs(), settings))
    default = settings_list[0][1]
    shape = (2, 3, 4)
    cases.append(asl_case('paper-default masked mean', (random_logits(shape), random_binary(shape)), default,
                          reduction='mean', weights=slice_mask()))
    return cases


# ---------------------------------------------------------------- bce / focal / cumulative

def smoothed_binary(y, smoothing):
    return y * (1.0 - smoothing) + 0.5 * smoothing


def bce_elements(x, y, smoothing=0.0, pos_weight=None):
    pw = None if pos_weight is None else tensor(pos_weight)
    return F.binary_cross_entropy_with_logits(x, smoothed_binary(y, smoothing), pos_weight=pw, reduction='none')


def plain_case(name, config, logits, targets, element_fn, reduction, weights=None):
    y = tensor(targets)
    value, grad = value_and_grad(lambda x: reduce(element_fn(x, y), weights, reduction), logits)
    assert math.isfinite(value) and np.all(np.isfinite(grad)), name
    return {
        'name': name,
        'config': {**config, 'reduction': reduction},
        'shape': list(np.shape(logits)),
        'logits': np.ravel(logits).tolist(),
        'targets': np.ravel(targets).tolist(),
        'targetsShape': list(np.shape(targets)),
        'weights': None if weights is None else np.ravel(weights).tolist(),
        'weightsShape': None if weights is None else list(np.shape(weights)),
        'value': value,
        'grad': np.ravel(grad).tolist(),
    }


def bce_fixture():
    shape = (5, 7)
    logits, targets = random_logits(shape), random_binary(shape)
    pos_weight = [0.5, 1.0, 2.0, 3.0, 1.5, 4.0, 0.25]
    masked_shape = (2, 3, 4)
    masked_logits, masked_targets = random_logits(masked_shape), random_binary(masked_shape)
    return [
        plain_case('plain mean', {'name': 'bce'}, logits, targets, bce_elements, 'mean'),
        plain_case('plain sum', {'name': 'bce'}, logits, targets, bce_elements, 'sum'),
        plain_case('label smoothing', {'name': 'bce', 'labelSmoothing': 0.1}, logits, targets,
                   lambda x, y: bce_elements(x, y, smoothing=0.1), 'mean'),
        plain_case('scalar pos_weight', {'name': 'bce', 'pos_weight': 3.0}, logits, targets,
                   lambda x, y: bce_elements(x, y, pos_weight=[3.0]), 'mean'),
        plain_case('per-class pos_weight and smoothing', {'name': 'bce', 'pos_weight': pos_weight, 'labelSmoothing': 0.2},
                   logits, targets, lambda x, y: bce_elements(x, y, smoothing=0.2, pos_weight=pos_weight), 'sum'),
        plain_case('extreme', {'name': 'bce'}, *extreme_binary_inputs(), bce_elements, 'sum'),
        plain_case('masked mean', {'name': 'bce'}, masked_logits, masked_targets, bce_elements, 'mean', slice_mask()),
    ]


def focal_elements(gamma, alpha):
    def elements(x, y):
        p = torch.sigmoid(x)
        p_t = p * y + (1.0 - p) * (1.0 - y)
        # (1 - p_t) written as sigmoid terms and a guarded power so that +-100 stays finite in float64.
        one_minus_p_t = torch.sigmoid(x) * (1.0 - y) + torch.sigmoid(-x) * y
        assert torch.allclose(one_minus_p_t, 1.0 - p_t, atol=1e-12)
        loss = F.binary_cross_entropy_with_logits(x, y, reduction='none') * guarded_pow(one_minus_p_t, gamma)
        if alpha is not None:
            loss = loss * (alpha * y + (1.0 - alpha) * (1.0 - y))
        return loss
    return elements


def focal_fixture():
    shape = (5, 7)
    logits, targets = random_logits(shape), random_binary(shape)
    return [
        plain_case('gamma 2', {'name': 'focal', 'gamma': 2}, logits, targets, focal_elements(2, None), 'mean'),
        plain_case('gamma 2 alpha 0.25', {'name': 'focal', 'gamma': 2, 'alpha': 0.25}, logits, targets,
                   focal_elements(2, 0.25), 'sum'),
        plain_case('gamma 0.5', {'name': 'focal', 'gamma': 0.5}, logits, targets, focal_elements(0.5, None), 'mean'),
        plain_case('extreme gamma 2 alpha 0.25', {'name': 'focal', 'gamma': 2, 'alpha': 0.25}, *extreme_binary_inputs(),
                   focal_elements(2, 0.25), 'sum'),
        plain_case('extreme gamma 0.5', {'name': 'focal', 'gamma': 0.5}, *extreme_binary_inputs(),
                   focal_elements(0.5, None), 'sum'),
    ]


def expand_cumulative(grades, levels):
    """grade k -> [k > 0, k > 1, ...], class-major: logit j of class c sits at c * (levels - 1) + j."""
    grades = np.asarray(grades)
    thresholds = np.arange(levels - 1)
    expanded = (grades[..., None] > thresholds).astype(np.float64)
    return expanded.reshape(grades.shape[:-1] + (grades.shape[-1] * (levels - 1),))


def cumulative_fixture():
    levels, classes = 4, 3
    grades = RNG.integers(0, levels, size=(6, classes)).astype(np.float64)
    logits = random_logits((6, classes * (levels - 1)))
    masked_grades = RNG.integers(0, levels, size=(2, 3, classes)).astype(np.float64)
    masked_logits = random_logits((2, 3, classes * (levels - 1)))
    extreme_grades = np.array([[0.0, 3.0], [3.0, 0.0], [1.0, 2.0]])
    extreme_logits = np.array([[-100.0, 100.0, -20.0, 20.0, 100.0, -100.0]] * 3)

    def elements(x, y):
        return F.binary_cross_entropy_with_logits(x, tensor(expand_cumulative(y.numpy(), levels)), reduction='none')

    return [
        plain_case('mean', {'name': 'cumulative-bce'}, logits, grades, elements, 'mean'),
        plain_case('sum', {'name': 'cumulative-bce'}, logits, grades, elements, 'sum'),
        plain_case('masked mean', {'name': 'cumulative-bce'}, masked_logits, masked_grades, elements, 'mean', slice_mask()),
        plain_case('extreme', {'name': 'cumulative-bce'}, extreme_logits, extreme_grades, elements, 'sum'),
    ]


# ---------------------------------------------------------------- categorical / regression

def one_hot(indices, classes):
    return np.eye(classes)[indices]


def categorical_fixture():
    classes = 4
    indices = RNG.integers(0, classes, size=6)
    logits = random_logits((6, classes))
    masked_indices = RNG.integers(0, classes, size=(2, 3))
    masked_logits = random_logits((2, 3, classes))
    extreme_logits = np.array([[100.0, -100.0, 0.0, 20.0], [-100.0, 100.0, -20.0, 0.0], [100.0, 100.0, -100.0, -100.0]])
    extreme_indices = np.array([0, 0, 2])

    def elements(smoothing):
        def fn(x, y):
            flat = x.reshape(-1, classes)
            target_index = y.reshape(-1, classes).argmax(dim=1)
            loss = F.cross_entropy(flat, target_index, label_smoothing=smoothing, reduction='none')
            return loss.reshape(x.shape[:-1])
        return fn

    return [
        plain_case('plain mean', {'name': 'categorical-ce'}, logits, one_hot(indices, classes), elements(0.0), 'mean'),
        plain_case('smoothing 0.05 mean', {'name': 'categorical-ce', 'labelSmoothing': 0.05}, logits,
                   one_hot(indices, classes), elements(0.05), 'mean'),
        plain_case('smoothing 0.2 sum', {'name': 'categorical-ce', 'labelSmoothing': 0.2}, logits,
                   one_hot(indices, classes), elements(0.2), 'sum'),
        plain_case('slice-level masked mean', {'name': 'categorical-ce', 'labelSmoothing': 0.05}, masked_logits,
                   one_hot(masked_indices, classes), elements(0.05), 'mean', slice_mask()),
        plain_case('extreme', {'name': 'categorical-ce', 'labelSmoothing': 0.05}, extreme_logits,
                   one_hot(extreme_indices, classes), elements(0.05), 'sum'),
    ]


def regression_fixture(name, element_fn):
    classes, levels = 3, 4
    grades = RNG.integers(0, levels, size=(6, classes)).astype(np.float64)
    predictions = RNG.normal(1.5, 1.5, size=(6, classes))
    masked_grades = RNG.integers(0, levels, size=(2, 3, classes)).astype(np.float64)
    masked_predictions = RNG.normal(1.5, 1.5, size=(2, 3, classes))
    extreme_predictions = np.array([[-100.0, 100.0, 20.0], [-20.0, 0.0, 3.0]])
    extreme_grades = np.array([[0.0, 3.0, 1.0], [2.0, 0.0, 3.0]])
    return [
        plain_case('mean', {'name': name}, predictions, grades, element_fn, 'mean'),
        plain_case('sum', {'name': name}, predictions, grades, element_fn, 'sum'),
        plain_case('masked mean', {'name': name}, masked_predictions, masked_grades, element_fn, 'mean', slice_mask()),
        plain_case('extreme', {'name': name}, extreme_predictions, extreme_grades, element_fn, 'sum'),
    ]


def main():
    fixtures = {
        'asl': asl_fixture(),
        'bce': bce_fixture(),
        'focal': focal_fixture(),
        'cumulative-bce': cumulative_fixture(),
        'categorical-ce': categorical_fixture(),
        'mse': regression_fixture('mse', lambda x, y: F.mse_loss(x, y, reduction='none')),
        'mae': regression_fixture('mae', lambda x, y: F.l1_loss(x, y, reduction='none')),
    }
    os.makedirs(OUT_DIR, exist_ok=True)
    for loss, cases in fixtures.items():
        document = {
            'generator': 'scripts/make-loss-fixtures.py',
            'torch': torch.__version__,
            'precision': 'float64',
            'loss': loss,
            'cases': cases,
        }
        path = os.path.join(OUT_DIR, f'{loss}.json')
        with open(path + '.tmp', 'w') as handle:
            json.dump(document, handle, indent=1)
            handle.write('\n')
        os.replace(path + '.tmp', path)
        nulls = sum(c['grad'].count(None) + (c['value'] is None) for c in cases)
        print(f'{path}: {len(cases)} cases, {nulls} non-finite reference entries')


if __name__ == '__main__':
    main()
