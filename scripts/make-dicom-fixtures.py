#!/usr/bin/python3
"""Writes the reader test fixtures with INDEPENDENT writers (pydicom, nibabel, OpenCV) and the values those
libraries decode, so test/data/readers*.test.ts compares our decoding with theirs.

Run with the system Python (it has pydicom, nibabel, numpy, cv2):  /usr/bin/python3 scripts/make-dicom-fixtures.py
Output (committed, tiny): test/fixtures/dicom/*.dcm + expected.json, test/fixtures/nifti/*, test/fixtures/images/*.
"""
import gzip
import json
import os
import shutil

import cv2
import nibabel as nib
import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import (
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEGLosslessSV1,
    generate_uid,
)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures')
DICOM_DIR = os.path.join(ROOT, 'dicom')
NIFTI_DIR = os.path.join(ROOT, 'nifti')
IMAGE_DIR = os.path.join(ROOT, 'images')
ROWS, COLS = 6, 8
CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2'
# Fixed UIDs under the UUID-derived 2.25 root, so re-running the script gives byte-identical files.
UID_ROOT = '2.25.31415926535897932384626433832795028841'

rng = np.random.default_rng(20240607)


def uid(suffix):
    return f'{UID_ROOT}.{suffix}'


def base_dataset(name, syntax, index):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CT_IMAGE_STORAGE
    meta.MediaStorageSOPInstanceUID = uid(f'3.{index}')
    meta.TransferSyntaxUID = syntax
    meta.ImplementationClassUID = uid('9')
    ds = FileDataset(name, {}, file_meta=meta, preamble=b'\0' * 128)
    ds.is_little_endian = syntax != ExplicitVRBigEndian
    ds.is_implicit_VR = syntax == ImplicitVRLittleEndian
    ds.SOPClassUID = CT_IMAGE_STORAGE
    ds.SOPInstanceUID = uid(f'3.{index}')
    ds.StudyInstanceUID = uid('1')
    ds.SeriesInstanceUID = uid('2')
    ds.Modality = 'CT'
    ds.PatientID = 'FIXTURE'
    ds.InstanceNumber = index
    ds.ImagePositionPatient = [-125.0, -120.5, 10.0 + 5 * index]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing = [0.488281, 0.5]
    ds.Rows = ROWS
    ds.Columns = COLS
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = 'MONOCHROME2'
    return ds


def set_pixels(ds, values, bits_allocated, bits_stored, signed):
    ds.BitsAllocated = bits_allocated
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 1 if signed else 0
    kind = {8: 'i1', 16: 'i2'}[bits_allocated] if signed else {8: 'u1', 16: 'u2'}[bits_allocated]
    order = '<' if ds.is_little_endian else '>'
    ds.PixelData = np.asarray(values).astype(order + kind).tobytes()
    ds['PixelData'].VR = 'OB' if bits_allocated == 8 else 'OW'


def pydicom_values(path, **read):
    """Modality values as pydicom decodes them: pixel_array × RescaleSlope + RescaleIntercept."""
    ds = pydicom.dcmread(path, **read)
    if 'TransferSyntaxUID' not in ds.file_meta:
        ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian  # the default for a bare dataset
    slope = float(getattr(ds, 'RescaleSlope', 1))
    intercept = float(getattr(ds, 'RescaleIntercept', 0))
    return ds, ds.pixel_array.astype(np.float64) * slope + intercept


def multi(value):
    """pydicom returns a MultiValue for backslash-separated values and a scalar otherwise."""
    return [float(v) for v in value] if isinstance(value, pydicom.multival.MultiValue) else [float(value)]


def describe(ds, values):
    entry = {
        'rows': int(ds.Rows),
        'cols': int(ds.Columns),
        'values': [round(float(v), 4) for v in values.ravel()],
        'studyInstanceUid': str(ds.StudyInstanceUID),
        'seriesInstanceUid': str(ds.SeriesInstanceUID),
        'sopInstanceUid': str(ds.SOPInstanceUID),
        'instanceNumber': int(ds.InstanceNumber),
        'imagePosition': [float(v) for v in ds.ImagePositionPatient],
        'imageOrientation': [float(v) for v in ds.ImageOrientationPatient],
        'pixelSpacing': [float(v) for v in ds.PixelSpacing],
        'rescaleSlope': float(getattr(ds, 'RescaleSlope', 1)),
        'rescaleIntercept': float(getattr(ds, 'RescaleIntercept', 0)),
        'photometricInterpretation': str(ds.PhotometricInterpretation),
    }
    if 'WindowCenter' in ds:
        entry['windowCenter'] = multi(ds.WindowCenter)
        entry['windowWidth'] = multi(ds.WindowWidth)
    if hasattr(ds, 'file_meta') and 'TransferSyntaxUID' in ds.file_meta:
        entry['transferSyntaxUid'] = str(ds.file_meta.TransferSyntaxUID)
    return entry


def write(ds, name, **save):
    path = os.path.join(DICOM_DIR, name)
    ds.save_as(path, write_like_original=save.get('write_like_original', False))
    return path


def record(expected, ds, name, bare=False):
    """Writes `ds`, reads it back with pydicom and keeps what our reader must find. `bare`: no preamble or meta."""
    path = write(ds, name, write_like_original=bare)
    read, values = pydicom_values(path, force=True) if bare else pydicom_values(path)
    expected[name] = describe(read, values)


def good_dicom_fixtures(expected):
    # Explicit VR little endian, signed 16-bit, CT-style intercept; stored values include negatives.
    ds = base_dataset('explicit_le_int16', ExplicitVRLittleEndian, 1)
    set_pixels(ds, rng.integers(-1200, 3000, (ROWS, COLS)), 16, 16, True)
    ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
    ds.WindowCenter, ds.WindowWidth = 40, 80
    record(expected, ds, 'explicit_le_int16.dcm')

    # Implicit VR little endian, unsigned 16-bit, non-unit slope.
    ds = base_dataset('implicit_le_uint16', ImplicitVRLittleEndian, 2)
    set_pixels(ds, rng.integers(0, 65535, (ROWS, COLS)), 16, 16, False)
    ds.RescaleSlope, ds.RescaleIntercept = 0.5, -100
    record(expected, ds, 'implicit_le_uint16.dcm')

    # Explicit VR big endian, signed 16-bit: every multi-byte value is byte-swapped on disk.
    ds = base_dataset('explicit_be_int16', ExplicitVRBigEndian, 3)
    set_pixels(ds, rng.integers(-30000, 30000, (ROWS, COLS)), 16, 16, True)
    ds.RescaleSlope, ds.RescaleIntercept = 1, 0
    ds.WindowCenter, ds.WindowWidth = 300, 1500
    record(expected, ds, 'explicit_be_int16.dcm')

    # 8-bit unsigned and 8-bit signed.
    ds = base_dataset('explicit_le_uint8', ExplicitVRLittleEndian, 4)
    ds.Modality = 'OT'  # no rescale tags: fine for other modalities, refused for CT (its HU would be a guess)
    set_pixels(ds, rng.integers(0, 256, (ROWS, COLS)), 8, 8, False)
    record(expected, ds, 'explicit_le_uint8.dcm')

    ds = base_dataset('explicit_le_int8', ExplicitVRLittleEndian, 5)
    set_pixels(ds, rng.integers(-128, 128, (ROWS, COLS)), 8, 8, True)
    ds.RescaleSlope, ds.RescaleIntercept = 2, 10
    record(expected, ds, 'explicit_le_int8.dcm')

    # Signed 12-bit in 16 (negative values sign-extended to 16 bits, as writers do).
    ds = base_dataset('explicit_le_int12', ExplicitVRLittleEndian, 6)
    set_pixels(ds, rng.integers(-2048, 2048, (ROWS, COLS)), 16, 12, True)
    ds.RescaleSlope, ds.RescaleIntercept = 1, 0
    record(expected, ds, 'explicit_le_int12.dcm')

    # MONOCHROME1: we return MONOCHROME2-sense values, mirrored over the rescaled representable range.
    ds = base_dataset('monochrome1', ExplicitVRLittleEndian, 7)
    set_pixels(ds, rng.integers(0, 4096, (ROWS, COLS)), 16, 12, False)
    ds.PhotometricInterpretation = 'MONOCHROME1'
    ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
    ds.WindowCenter, ds.WindowWidth = 1000, 2000
    path = write(ds, 'monochrome1.dcm')
    read, values = pydicom_values(path)
    entry = describe(read, values)
    low, high = 0 * 1 - 1024, 4095 * 1 - 1024
    entry['values'] = [round(low + high - v, 4) for v in values.ravel()]
    entry['windowCenter'] = [low + high - c for c in entry['windowCenter']]
    expected['monochrome1.dcm'] = entry

    # Several windows in one file (backslash-separated), as many RSNA files carry.
    ds = base_dataset('multi_window', ExplicitVRLittleEndian, 8)
    set_pixels(ds, rng.integers(-1024, 2000, (ROWS, COLS)), 16, 16, True)
    ds.RescaleSlope, ds.RescaleIntercept = 1, 0
    ds.WindowCenter = [40, 80]
    ds.WindowWidth = [80, 200]
    record(expected, ds, 'multi_window.dcm')

    # RSNA quirk: 12-bit unsigned storing HU modulo 4096, intercept 0 (> -100). The fix (the well-known one
    # from the RSNA 2019 competition): stored + 1000, values >= 4096 wrap back by 4096, intercept -1000.
    hu = rng.integers(-1000, 1500, (ROWS, COLS))
    hu[0, :3] = [-1000, -1, 0]
    ds = base_dataset('rsna_quirk', ExplicitVRLittleEndian, 9)
    set_pixels(ds, np.mod(hu, 4096), 16, 12, False)
    ds.RescaleSlope, ds.RescaleIntercept = 1, 0
    ds.WindowCenter, ds.WindowWidth = 40, 80
    path = write(ds, 'rsna_quirk.dcm')
    read, raw_values = pydicom_values(path)
    fixed = read.pixel_array.astype(np.int64) + 1000
    fixed[fixed >= 4096] -= 4096
    entry = describe(read, fixed.astype(np.float64) - 1000)
    entry['rescaleIntercept'] = -1000.0
    entry['valuesWithoutFix'] = [round(float(v), 4) for v in raw_values.ravel()]
    entry['trueHu'] = [int(v) for v in hu.ravel()]
    expected['rsna_quirk.dcm'] = entry

    # A 12-bit unsigned file with a proper intercept: the quirk must NOT fire.
    ds = base_dataset('rsna_normal_12bit', ExplicitVRLittleEndian, 10)
    set_pixels(ds, rng.integers(0, 4096, (ROWS, COLS)), 16, 12, False)
    ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
    record(expected, ds, 'rsna_normal_12bit.dcm')

    # A bare dataset (no preamble, no file meta; implicit VR little endian), as old archives hold.
    ds = base_dataset('bare_implicit', ImplicitVRLittleEndian, 11)
    set_pixels(ds, rng.integers(-1024, 2000, (ROWS, COLS)), 16, 16, True)
    ds.RescaleSlope, ds.RescaleIntercept = 1, 0
    ds.preamble = None
    ds.file_meta = FileMetaDataset()
    record(expected, ds, 'bare_implicit', bare=True)

    # MR stored as 12-bit unsigned with intercept 0 is normal: the RSNA (CT) repair must NOT fire.
    ds = base_dataset('mr_12bit', ExplicitVRLittleEndian, 12)
    ds.Modality = 'MR'
    set_pixels(ds, np.random.default_rng(12).integers(0, 4096, (ROWS, COLS)), 16, 12, False)
    ds.RescaleSlope, ds.RescaleIntercept = 1, 0
    record(expected, ds, 'mr_12bit.dcm')


def bad_dicom_fixtures(expected_errors):
    # JPEG Lossless header with dummy encapsulated data: we must refuse it, naming the syntax.
    ds = base_dataset('jpeg_lossless', JPEGLosslessSV1, 20)
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.PixelData = encapsulate([b'\xff\xd8' + bytes(30) + b'\xff\xd9'])
    ds['PixelData'].VR = 'OB'
    ds['PixelData'].is_undefined_length = True
    ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
    write(ds, 'jpeg_lossless.dcm')
    expected_errors['jpeg_lossless.dcm'] = ['JPEG Lossless', '1.2.840.10008.1.2.4.70']

    ds = base_dataset('no_pixel_data', ExplicitVRLittleEndian, 21)
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
    write(ds, 'no_pixel_data.dcm')
    expected_errors['no_pixel_data.dcm'] = ['no pixel data']

    # A valid file cut in the middle of its pixel data.
    with open(os.path.join(DICOM_DIR, 'explicit_le_int16.dcm'), 'rb') as source:
        whole = source.read()
    with open(os.path.join(DICOM_DIR, 'truncated.dcm'), 'wb') as target:
        target.write(whole[: len(whole) - ROWS * COLS])
    expected_errors['truncated.dcm'] = ['truncated']

    with open(os.path.join(DICOM_DIR, 'not_dicom.dcm'), 'wb') as target:
        target.write(b'ID,Label\nID_000012eaf_any,0\n' * 8)
    expected_errors['not_dicom.dcm'] = ['not a DICOM file']


def nifti_fixtures():
    """A 4×3×5 int16 volume with scl_slope/scl_inter and an oblique-free but non-trivial affine."""
    volume = rng.integers(-500, 500, (4, 3, 5)).astype(np.int16)
    affine = np.array([
        [-0.5, 0, 0, 30.0],
        [0, 0.7, 0, -20.0],
        [0, 0, 2.5, 5.0],
        [0, 0, 0, 1],
    ])
    image = nib.Nifti1Image(volume, affine)
    image.header.set_slope_inter(2.0, -10.0)
    image.header.set_data_dtype(np.int16)
    nib.save(image, os.path.join(NIFTI_DIR, 'volume.nii'))
    with open(os.path.join(NIFTI_DIR, 'volume.nii'), 'rb') as source, \
            gzip.GzipFile(os.path.join(NIFTI_DIR, 'volume.nii.gz'), 'wb', mtime=0) as target:
        shutil.copyfileobj(source, target)

    loaded = nib.load(os.path.join(NIFTI_DIR, 'volume.nii'))
    data = loaded.get_fdata()  # nibabel applies scl_slope / scl_inter
    best = loaded.header.get_best_affine()
    expected = {'shape': list(data.shape), 'axes': {}}
    for axis in range(3):
        slices = []
        for index in range(data.shape[axis]):
            plane = np.take(data, index, axis=axis)
            voxel = [0, 0, 0, 1]
            voxel[axis] = index
            ras = best @ np.array(voxel, dtype=np.float64)
            slices.append({
                'rows': plane.shape[0],
                'cols': plane.shape[1],
                'values': [round(float(v), 4) for v in plane.ravel()],
                'imagePosition': [-float(ras[0]), -float(ras[1]), float(ras[2])],
            })
        expected['axes'][str(axis)] = slices
    with open(os.path.join(NIFTI_DIR, 'expected.json'), 'w') as target:
        json.dump(expected, target, indent=1)
        target.write('\n')


def image_fixtures():
    """PNG/TIFF/JPEG written by OpenCV: grey 8-bit, grey 16-bit, colour; values known exactly (JPEG: lossy)."""
    grey8 = (np.arange(ROWS * COLS).reshape(ROWS, COLS) * 5).astype(np.uint8)
    grey16 = (np.arange(ROWS * COLS).reshape(ROWS, COLS) * 1000).astype(np.uint16)
    bgr = np.stack([grey8, 255 - grey8, grey8 // 2], -1)
    cv2.imwrite(os.path.join(IMAGE_DIR, 'grey8.png'), grey8)
    cv2.imwrite(os.path.join(IMAGE_DIR, 'grey16.png'), grey16)
    cv2.imwrite(os.path.join(IMAGE_DIR, 'grey16.tif'), grey16)
    cv2.imwrite(os.path.join(IMAGE_DIR, 'colour.png'), bgr)
    cv2.imwrite(os.path.join(IMAGE_DIR, 'grey8.jpg'), grey8, [cv2.IMWRITE_JPEG_QUALITY, 100])
    expected = {
        'grey8.png': {'channels': 1, 'values': grey8.ravel().tolist()},
        'grey16.png': {'channels': 1, 'values': grey16.ravel().tolist()},
        'grey16.tif': {'channels': 1, 'values': grey16.ravel().tolist()},
        'colour.png': {'channels': 3, 'values': bgr[..., ::-1].ravel().tolist()},
        'grey8.jpg': {'channels': 1, 'values': cv2.imread(os.path.join(IMAGE_DIR, 'grey8.jpg'), cv2.IMREAD_UNCHANGED).ravel().tolist()},
    }
    with open(os.path.join(IMAGE_DIR, 'expected.json'), 'w') as target:
        json.dump({'rows': ROWS, 'cols': COLS, 'files': expected}, target, indent=1)
        target.write('\n')


def main():
    for directory in (DICOM_DIR, NIFTI_DIR, IMAGE_DIR):
        os.makedirs(directory, exist_ok=True)
    expected, errors = {}, {}
    good_dicom_fixtures(expected)
    bad_dicom_fixtures(errors)
    with open(os.path.join(DICOM_DIR, 'expected.json'), 'w') as target:
        json.dump({'pydicom': pydicom.__version__, 'files': expected, 'errors': errors}, target, indent=1)
        target.write('\n')
    nifti_fixtures()
    image_fixtures()
    print(f'wrote {len(expected)} readable and {len(errors)} bad DICOM fixtures, NIfTI and image fixtures under {ROOT}')


if __name__ == '__main__':
    main()
