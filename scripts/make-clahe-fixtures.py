#!/usr/bin/python3
"""Writes test/fixtures/clahe/cases.json: 8-bit images and what OpenCV's CLAHE makes of them, so
test/data/clahe.test.ts checks our implementation against cv2.createCLAHE(clipLimit, tileGridSize).apply.

Run with Debian's python3-opencv:  /usr/bin/python3 scripts/make-clahe-fixtures.py
Each case: rows, cols, clipLimit, tileGridSize [across, down], input and expected (row-major uint8 lists).
"""
import json
import os

import cv2
import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'clahe', 'cases.json')
rng = np.random.default_rng(20261205)


def ct_like(rows, cols):
    """A skull-like ring around low-contrast tissue with noise, as windowed CT looks at 8 bits."""
    y, x = np.mgrid[0:rows, 0:cols]
    radius = np.hypot((x - cols / 2) / (0.4 * cols), (y - rows / 2) / (0.45 * rows))
    image = np.where(radius > 1, 0.0, np.where(radius > 0.85, 250.0, 110.0 + 25 * np.sin(x / 3.0) * np.cos(y / 4.0)))
    return np.clip(np.round(image + rng.normal(0, 6, image.shape)), 0, 255).astype(np.uint8)


def gradient(rows, cols):
    y, x = np.mgrid[0:rows, 0:cols]
    return np.round(100 + 40 * (x / max(cols - 1, 1)) * (y / max(rows - 1, 1))).astype(np.uint8)


def noise(rows, cols):
    return rng.integers(0, 256, (rows, cols), dtype=np.uint8)


CASES = [
    # (name, image, clipLimit, (tiles across, tiles down))
    ('ct-64-clip3-8x8', ct_like(64, 64), 3.0, (8, 8)),
    ('ct-64-clip2-8x8', ct_like(64, 64), 2.0, (8, 8)),
    ('ct-64-default', ct_like(64, 64), 40.0, (8, 8)),
    ('ct-50x37-clip3-8x8-extended', ct_like(50, 37), 3.0, (8, 8)),
    ('ct-48x37-clip3-8x8-width-only', ct_like(48, 37), 3.0, (8, 8)),
    ('gradient-40x30-clip2-3x5', gradient(40, 30), 2.0, (3, 5)),
    ('gradient-33x45-noclip-4x4', gradient(33, 45), 0.0, (4, 4)),
    ('noise-30x30-clip1-2x3', noise(30, 30), 1.0, (2, 3)),
    ('noise-7x5-clip4-8x8-smaller-than-grid', noise(7, 5), 4.0, (8, 8)),
    ('constant-16x16-clip3-4x4', np.full((16, 16), 77, np.uint8), 3.0, (4, 4)),
    ('ct-96x80-clip2.5-6x7', ct_like(96, 80), 2.5, (6, 7)),
]


def main():
    cases = []
    for name, image, clip, grid in CASES:
        expected = cv2.createCLAHE(clipLimit=clip, tileGridSize=grid).apply(image)
        cases.append({
            'name': name,
            'rows': int(image.shape[0]),
            'cols': int(image.shape[1]),
            'clipLimit': clip,
            'tileGridSize': list(grid),
            'input': image.ravel().tolist(),
            'expected': expected.ravel().tolist(),
        })
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT + '.tmp', 'w') as f:
        json.dump({'opencv': cv2.__version__, 'cases': cases}, f, separators=(',', ':'))
        f.write('\n')
    os.replace(OUT + '.tmp', OUT)
    print(f'wrote {len(cases)} cases to {OUT} (OpenCV {cv2.__version__})')


if __name__ == '__main__':
    main()
