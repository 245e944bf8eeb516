#!/usr/bin/python3
"""Writes test/fixtures/resize/cases.json: float32 images and what OpenCV's cv2.resize makes of them, so
test/data/resize.test.ts checks the `resize` transform against cv2.resize(image, (cols, rows), interpolation=...).

Run with Debian's python3-opencv:  /usr/bin/python3 scripts/make-resize-fixtures.py
Each case: rows, cols, channels, kernel (our name), to [rows, cols], input and expected (row-major, channels
last, float32 values written in their shortest float32 form: Math.fround of the number is the value).
"""
import json
import os

import cv2
import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'resize', 'cases.json')
rng = np.random.default_rng(20261205)
KERNELS = {
    'nearest': cv2.INTER_NEAREST,
    'linear': cv2.INTER_LINEAR,
    'cubic': cv2.INTER_CUBIC,
    'area': cv2.INTER_AREA,
    'lanczos4': cv2.INTER_LANCZOS4,
}


def windowed(rows, cols, channels):
    """Windowed-CT-like values in [0, 1]: a ring, soft tissue with texture, noise; one window per channel."""
    y, x = np.mgrid[0:rows, 0:cols]
    radius = np.hypot((x - cols / 2) / (0.4 * cols), (y - rows / 2) / (0.45 * rows))
    base = np.where(radius > 1, 0.0, np.where(radius > 0.85, 0.95, 0.45 + 0.2 * np.sin(x / 2.0) * np.cos(y / 3.0)))
    planes = [np.clip(base * (1 - 0.15 * k) + rng.normal(0, 0.03, base.shape), 0, 1) for k in range(channels)]
    return np.stack(planes, axis=-1).astype(np.float32)


def hounsfield(rows, cols):
    """Unwindowed HU with sharp edges, where cubic and Lanczos kernels overshoot."""
    image = np.full((rows, cols), -1000.0)
    image[rows // 4: 3 * rows // 4, cols // 4: 3 * cols // 4] = 1500.0
    return (image + rng.normal(0, 20, image.shape)).astype(np.float32)[..., None]


CASES = [
    # (image, kernel, (rows, cols) out)
    (windowed(16, 16, 3), 'linear', (40, 40)),
    (windowed(16, 16, 3), 'cubic', (40, 40)),
    (windowed(16, 16, 3), 'nearest', (40, 24)),
    (windowed(16, 16, 3), 'lanczos4', (35, 29)),
    (windowed(36, 30, 3), 'area', (12, 10)),
    (windowed(36, 30, 3), 'area', (16, 13)),
    (windowed(36, 30, 3), 'linear', (16, 13)),
    (windowed(21, 13, 1), 'linear', (32, 32)),
    (windowed(12, 10, 2), 'linear', (17, 23)),
    (windowed(12, 10, 4), 'cubic', (25, 19)),
    (windowed(12, 10, 5), 'linear', (18, 16)),
    (windowed(12, 10, 5), 'area', (7, 6)),
    (hounsfield(20, 20), 'cubic', (33, 33)),
    (hounsfield(20, 20), 'lanczos4', (31, 37)),
]


def resize(image, rows, cols, interpolation):
    """cv2.resize takes at most 4 channels; beyond that, one channel at a time (as the transform does)."""
    if image.shape[2] <= 4:
        return cv2.resize(image, (cols, rows), interpolation=interpolation).reshape(rows, cols, image.shape[2])
    planes = [cv2.resize(np.ascontiguousarray(image[..., k]), (cols, rows), interpolation=interpolation) for k in range(image.shape[2])]
    return np.stack(planes, axis=-1)


class Float32(list):
    """A float32 array that json.dump writes as shortest float32 literals (fewer digits than float64's)."""

    def __init__(self, array):
        super().__init__(np.format_float_positional(v, unique=True, trim='0') for v in np.asarray(array, np.float32).ravel())


def dump(value):
    if isinstance(value, Float32):
        return '[' + ','.join(value) + ']'
    if isinstance(value, dict):
        return '{' + ','.join(json.dumps(k) + ':' + dump(v) for k, v in value.items()) + '}'
    if isinstance(value, list):
        return '[' + ','.join(dump(v) for v in value) + ']'
    return json.dumps(value)


def main():
    cases = []
    for image, kernel, (rows, cols) in CASES:
        expected = resize(image, rows, cols, KERNELS[kernel])
        cases.append({
            'name': f'{kernel}-{image.shape[0]}x{image.shape[1]}x{image.shape[2]}-to-{rows}x{cols}',
            'rows': int(image.shape[0]),
            'cols': int(image.shape[1]),
            'channels': int(image.shape[2]),
            'kernel': kernel,
            'to': [rows, cols],
            'input': Float32(image),
            'expected': Float32(expected),
        })
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT + '.tmp', 'w') as f:
        f.write(dump({'opencv': cv2.__version__, 'cases': cases}))
        f.write('\n')
    os.replace(OUT + '.tmp', OUT)
    print(f'wrote {len(cases)} cases to {OUT} (OpenCV {cv2.__version__})')


if __name__ == '__main__':
    main()
