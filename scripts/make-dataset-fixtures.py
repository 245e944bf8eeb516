#!/usr/bin/python3
"""Writes a tiny dataset in the Kaggle RSNA Intracranial Hemorrhage Detection layout, with pydicom, for
test/data/datasets*.test.ts and patients/loader tests. Its traps: file names and InstanceNumbers that disagree
with the position order, an oblique stack whose z order is the reverse of its order along the slice normal, and a
study with two series (so grouping by study and by series differ).

Run with the system Python:  /usr/bin/python3 scripts/make-dataset-fixtures.py
Output (committed, tiny): test/fixtures/datasets/rsna-mini/{stage_2_train.csv, stage_2_train/, stage_2_test/, expected.json}
"""
import json
import math
import os
import random
import shutil

import numpy as np
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'datasets', 'rsna-mini')
ROWS = COLS = 8
CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2'
UID_ROOT = '2.25.27182818284590452353602874713526624977'
SUBTYPES = ['epidural', 'intraparenchymal', 'intraventricular', 'subarachnoid', 'subdural', 'any']

rnd = random.Random(20240611)
used_ids = set()


def image_id():
    while True:
        value = 'ID_' + ''.join(rnd.choice('0123456789abcdef') for _ in range(9))
        if value not in used_ids:
            used_ids.add(value)
            return value


def ds_number(value):
    return float(f'{value:.4f}')


def write_slice(folder, name, study, series, sop, position, orientation, instance, hu):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CT_IMAGE_STORAGE
    meta.MediaStorageSOPInstanceUID = sop
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = f'{UID_ROOT}.9'
    ds = FileDataset(name, {}, file_meta=meta, preamble=b'\0' * 128)
    ds.is_little_endian = True
    ds.is_implicit_VR = False
    ds.SOPClassUID = CT_IMAGE_STORAGE
    ds.SOPInstanceUID = sop
    ds.StudyInstanceUID = study
    ds.SeriesInstanceUID = series
    ds.Modality = 'CT'
    ds.PatientID = 'ID_' + study[-6:]
    if instance is not None:
        ds.InstanceNumber = instance
    ds.ImagePositionPatient = [ds_number(v) for v in position]
    ds.ImageOrientationPatient = [ds_number(v) for v in orientation]
    ds.PixelSpacing = [0.5, 0.5]
    ds.Rows = ROWS
    ds.Columns = COLS
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = 'MONOCHROME2'
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    ds.RescaleIntercept = -1024
    ds.RescaleSlope = 1
    ds.WindowCenter = 40
    ds.WindowWidth = 80
    ds.PixelData = np.full((ROWS, COLS), hu + 1024, dtype='<i2').tobytes()
    ds['PixelData'].VR = 'OW'
    ds.save_as(os.path.join(folder, f'{name}.dcm'), write_like_original=False)


def add(v, w, scale=1.0):
    return [a + scale * b for a, b in zip(v, w)]


def main():
    if os.path.exists(ROOT):
        shutil.rmtree(ROOT)
    train = os.path.join(ROOT, 'stage_2_train')
    test = os.path.join(ROOT, 'stage_2_test')
    os.makedirs(train)
    os.makedirs(test)

    axial = [1, 0, 0, 0, 1, 0]
    tilt = math.radians(30)
    oblique = [1, 0, 0, 0, math.cos(tilt), -math.sin(tilt)]
    normal = [0, math.sin(tilt), math.cos(tilt)]
    column = oblique[3:]

    # Each series: slices in body order (rank), with position, instance number and per-slice labels.
    series_list = [
        # Position order differs from instance order and from file-name order.
        dict(study='1', series='1.1', orientation=axial, instances=[3, 1, 5, 2, 4],
             positions=[[-100, -100, 20 + 5 * k] for k in range(5)], labels={2: ['subdural']}),
        # Oblique: along the normal k*5 mm, shifted in-plane so plain z runs backwards. No InstanceNumber.
        dict(study='2', series='2.1', orientation=oblique, instances=[None] * 4,
             positions=[add([0, 0, 0], add([5 * k * n for n in normal], column, 20 * k)) for k in range(4)],
             labels={3: ['epidural']}),
        # One study, two series: grouping by study gives one patient of 5 slices, by series two patients.
        dict(study='3', series='3.1', orientation=axial, instances=[1, 2, 3],
             positions=[[0, 0, 5 * k] for k in range(3)], labels={}),
        dict(study='3', series='3.2', orientation=axial, instances=[1, 2],
             positions=[[0, 0, 2.5 + 5 * k] for k in range(2)], labels={0: ['intraventricular', 'subarachnoid']}),
    ]
    test_series = [
        dict(study='4', series='4.1', orientation=axial, instances=[2, 1],
             positions=[[0, 0, 5 * k] for k in range(2)], labels={}),
    ]

    rows = []
    expected = {'studies': {}, 'series': {}, 'hu': {}, 'test': {}}
    for s_index, spec in enumerate(series_list + test_series):
        is_test = spec in test_series
        study = f'{UID_ROOT}.1.{spec["study"]}'
        series = f'{UID_ROOT}.2.{spec["series"]}'
        ids = []
        for rank, position in enumerate(spec['positions']):
            name = image_id()
            ids.append(name)
            hu = 100 * s_index + 10 * rank
            write_slice(test if is_test else train, name, study, series, f'{UID_ROOT}.3.{spec["series"]}.{rank}',
                        position, spec['orientation'], spec['instances'][rank], hu)
            expected['hu'][name] = hu
            if not is_test:
                positive = spec['labels'].get(rank, [])
                for subtype in SUBTYPES:
                    value = 1 if subtype in positive or (subtype == 'any' and positive) else 0
                    rows.append(f'{name}_{subtype},{value}')
        if is_test:
            expected['test'].setdefault(study, []).extend(ids)
        else:
            expected['studies'].setdefault(study, []).extend(ids)
            expected['series'][series] = ids
    # Study order for a multi-series study: by position along the normal (interleaved series).
    for study, ids in expected['studies'].items():
        if study.endswith('.1.3'):
            s1 = expected['series'][f'{UID_ROOT}.2.3.1']
            s2 = expected['series'][f'{UID_ROOT}.2.3.2']
            expected['studies'][study] = [s1[0], s2[0], s1[1], s2[1], s1[2]]

    rnd.shuffle(rows)
    with open(os.path.join(ROOT, 'stage_2_train.csv'), 'w') as out:
        out.write('ID,Label\n' + '\n'.join(rows) + '\n')
    with open(os.path.join(ROOT, 'expected.json'), 'w') as out:
        json.dump(expected, out, indent=2, sort_keys=True)
        out.write('\n')


if __name__ == '__main__':
    main()
