#!/usr/bin/python3
"""NumPy-written .npy files for test/data/npy.test.ts (the tests need no Python), and a check of ours.

Run with the system Python, which has numpy:  /usr/bin/python3 scripts/make-npy-fixtures.py
Writes test/fixtures/npy/*.npy with np.save and values.json holding every array's values and shape.
With file arguments it instead loads each with np.load and prints dtype, shape and values (the one-off check
that numpy reads what sliceseq writes, e.g. an embeddings cache):  /usr/bin/python3 scripts/make-npy-fixtures.py embeddings/x/*.npy
"""
import json
import os
import sys

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'npy')


def fixtures():
    rng = np.random.default_rng(7)
    return {
        # The layout of an embeddings file: (slices, features), float32, C order.
        'float32-3x5': (rng.standard_normal((3, 5)).astype(np.float32)),
        'float64-4': rng.standard_normal(4),
        'float32-big-endian-2x3': rng.standard_normal((2, 3)).astype('>f4'),
        'float32-2x3x2': rng.standard_normal((2, 3, 2)).astype(np.float32),
        'float32-0x8': np.zeros((0, 8), np.float32),
        'int32-3': np.arange(3, dtype=np.int32),
        'float32-fortran-3x2': np.asfortranarray(rng.standard_normal((3, 2)).astype(np.float32)),
    }


def write():
    os.makedirs(OUT, exist_ok=True)
    values = {}
    for name, array in fixtures().items():
        np.save(os.path.join(OUT, f'{name}.npy'), array)
        values[name] = {'dtype': array.dtype.str, 'shape': list(array.shape), 'values': [float(v) for v in np.ravel(array, order='C')]}
    with open(os.path.join(OUT, 'values.json'), 'w') as f:
        json.dump({'numpy': np.__version__, 'arrays': values}, f, indent=1)
        f.write('\n')
    print(f'wrote {len(values)} arrays to {OUT} (numpy {np.__version__})')


def check(paths):
    for path in paths:
        array = np.load(path)
        print(path, array.dtype.str, array.shape, 'finite' if np.isfinite(array).all() else 'NON-FINITE', np.round(array.ravel()[:6], 5).tolist())


if __name__ == '__main__':
    check(sys.argv[1:]) if len(sys.argv) > 1 else write()
