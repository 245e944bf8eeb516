#!/usr/bin/python3
"""Writes test/fixtures/dicom-reliability/: small DICOM files of the kinds issue 24 found misread (items 14-17),
made with pydicom and Pillow, and what pydicom decodes from each, so test/reliability/files.test.ts checks our
reader against an independent one.

Run with the system Python (python3-pydicom, python3-pil, numpy):  /usr/bin/python3 scripts/make-reliability-dicom-fixtures.py
Output (committed, a few KiB): test/fixtures/dicom-reliability/*.dcm + expected.json.
"""
import io
import json
import os
import struct

import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset, write_file_meta_info
from pydicom.pixel_data_handlers.util import convert_color_space
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, JPEGBaseline8Bit

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'dicom-reliability')
UID_ROOT = '2.25.16180339887498948482045868343656381177'
ROWS, COLS = 8, 10
rng = np.random.default_rng(20261206)


def dataset(name, index, modality='CT', syntax=ExplicitVRLittleEndian):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = '1.2.840.10008.5.1.4.1.1.7' if modality == 'OT' else '1.2.840.10008.5.1.4.1.1.2'
    meta.MediaStorageSOPInstanceUID = f'{UID_ROOT}.3.{index}'
    meta.TransferSyntaxUID = syntax
    meta.ImplementationClassUID = f'{UID_ROOT}.9'
    ds = FileDataset(name, {}, file_meta=meta, preamble=b'\0' * 128)
    ds.is_little_endian, ds.is_implicit_VR = True, syntax == ImplicitVRLittleEndian
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = f'{UID_ROOT}.1', f'{UID_ROOT}.2'
    ds.Modality = modality
    ds.InstanceNumber = index
    ds.ImagePositionPatient = [0.0, 0.0, float(index)]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.Rows, ds.Columns = ROWS, COLS
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, 'MONOCHROME2'
    return ds


def path_of(name):
    return os.path.join(OUT, name)


def pydicom_values(name, rgb=False):
    ds = pydicom.dcmread(path_of(name))
    values = ds.pixel_array.astype(np.float64)
    if rgb and ds.PhotometricInterpretation.startswith('YBR'):
        values = convert_color_space(ds.pixel_array, 'YBR_FULL', 'RGB').astype(np.float64)
    slope, intercept = float(getattr(ds, 'RescaleSlope', 1)), float(getattr(ds, 'RescaleIntercept', 0))
    return (values * slope + intercept).ravel().tolist()


def pixel_data_offset(path):
    """Where the PixelData value starts (explicit VR little endian: tag, VR, 2 reserved bytes, 4-byte length)."""
    raw = open(path, 'rb').read()
    return raw.rindex(b'\xe0\x7f\x10\x00') + 12


def uint32_unaligned(expected):
    """Item 15: 32-bit samples whose pixel data starts 2 bytes past a multiple of 4 (a Buffer view cannot be a Uint32Array)."""
    name = 'uint32_unaligned.dcm'
    ds = dataset(name, 1, modality='OT')
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 32, 32, 31, 0
    ds.PixelData = rng.integers(0, 2**32 - 1, (ROWS, COLS), dtype=np.uint64).astype('<u4').tobytes()
    ds['PixelData'].VR = 'OW'
    for comment in ['', 'ab', 'abcd']:
        if comment:
            ds.ImageComments = comment
        ds.save_as(path_of(name), write_like_original=False)
        if pixel_data_offset(path_of(name)) % 4 == 2:
            break
    assert pixel_data_offset(path_of(name)) % 4 == 2
    expected['files'][name] = {'channels': 1, 'values': pydicom_values(name)}


def jpeg_segments(stream):
    """(marker, payload) pairs of a JPEG up to the start of scan, then the rest as one piece."""
    assert stream[:2] == b'\xff\xd8'
    pos, segments = 2, []
    while True:
        marker = stream[pos + 1]
        length = struct.unpack('>H', stream[pos + 2:pos + 4])[0]
        if marker == 0xDA:
            return segments, stream[pos:]
        segments.append((marker, stream[pos + 4:pos + 2 + length]))
        pos += 2 + length


def jpeg_rgb_without_markers(expected):
    """
    Item 14: a JPEG Baseline frame whose components hold R, G and B (no colour transform), with no JFIF or Adobe
    marker and component ids 0, 1, 2, in a file whose PhotometricInterpretation says RGB. The JPEG rules alone would
    read it as YCbCr; DICOM's header says RGB, which pydicom and GDCM follow.
    """
    name = 'jpeg_rgb_no_markers.dcm'
    size = 16
    y, x = np.mgrid[0:size, 0:size]
    rgb = np.stack([(x * 15) % 256, (y * 15) % 256, ((x + y) * 8) % 256], axis=-1).astype(np.uint8)
    # Saved as 'YCbCr' Pillow writes the samples without converting them: the components are R, G and B.
    buffer = io.BytesIO()
    Image.frombytes('YCbCr', (size, size), rgb.tobytes()).save(buffer, 'JPEG', quality=95, subsampling=0)
    segments, scan = jpeg_segments(buffer.getvalue())
    kept = b''
    for marker, payload in segments:
        if marker in (0xE0, 0xEE):
            continue  # JFIF, Adobe
        if marker == 0xC0:
            payload = bytearray(payload)
            for c in range(payload[5]):
                payload[6 + 3 * c] = c
            payload = bytes(payload)
        kept += bytes([0xFF, marker]) + struct.pack('>H', len(payload) + 2) + payload
    scan = bytearray(scan)
    for c in range(scan[4]):
        scan[5 + 2 * c] = c
    stream = b'\xff\xd8' + kept + bytes(scan)
    # The samples as stored, without a colour transform (what the header's RGB means).
    reference = Image.open(io.BytesIO(buffer.getvalue()))
    reference.draft('YCbCr', reference.size)
    stored = np.asarray(reference.convert('YCbCr') if reference.mode != 'YCbCr' else reference).astype(np.float64)
    ds = dataset(name, 2, modality='OT', syntax=JPEGBaseline8Bit)
    ds.Rows = ds.Columns = size
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, 'RGB', 0
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = encapsulate([stream])
    ds['PixelData'].is_undefined_length = True
    ds.save_as(path_of(name), write_like_original=False)
    expected['files'][name] = {'channels': 3, 'values': stored.ravel().tolist(), 'rgb': rgb.astype(np.float64).ravel().tolist()}


def ybr_full_422(expected):
    """Item 16: uncompressed YBR_FULL_422, two pixels' Y then their shared Cb and Cr; pydicom expands and we compare in RGB."""
    name = 'ybr_full_422.dcm'
    ds = dataset(name, 3, modality='OT')
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, 'YBR_FULL_422', 0
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = rng.integers(16, 240, ROWS * COLS * 2, dtype=np.uint8).tobytes()
    ds.save_as(path_of(name), write_like_original=False)
    expected['files'][name] = {'channels': 3, 'values': pydicom_values(name, rgb=True)}


def explicit_written_implicit(expected):
    """Item 16: the file meta says Explicit VR Little Endian, the dataset is written implicit (pydicom reads it anyway)."""
    name = 'explicit_header_implicit_body.dcm'
    ds = dataset(name, 4, syntax=ImplicitVRLittleEndian)
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
    ds.PixelData = rng.integers(-1000, 2000, (ROWS, COLS)).astype('<i2').tobytes()
    body = DicomBytesIO()
    body.is_little_endian, body.is_implicit_VR = True, True
    write_dataset(body, ds)
    meta = FileMetaDataset(ds.file_meta)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    head = DicomBytesIO()
    head.is_little_endian, head.is_implicit_VR = True, False
    write_file_meta_info(head, meta)
    with open(path_of(name), 'wb') as f:
        f.write(b'\0' * 128 + b'DICM' + head.getvalue() + body.getvalue())
    expected['files'][name] = {'channels': 1, 'values': pydicom_values(name)}


def damaged_sequence(expected):
    """Item 16: a sequence item whose length runs past its sequence and the file."""
    name = 'damaged_sequence.dcm'
    ds = dataset(name, 5)
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
    item = pydicom.Dataset()
    item.ReferencedSOPClassUID = '1.2.840.10008.5.1.4.1.1.2'
    item.ReferencedSOPInstanceUID = f'{UID_ROOT}.3.1'
    ds.ReferencedImageSequence = [item]
    ds.PixelData = np.zeros((ROWS, COLS), '<i2').tobytes()
    ds.save_as(path_of(name), write_like_original=False)
    raw = bytearray(open(path_of(name), 'rb').read())
    item_tag = raw.index(b'\xfe\xff\x00\xe0', raw.index(b'\x08\x00\x40\x11'))
    raw[item_tag + 4:item_tag + 8] = struct.pack('<I', 0x7FFFFF00)
    open(path_of(name), 'wb').write(bytes(raw))
    expected['errors'][name] = ['damaged', 'sequence']


def ct_without_rescale(expected):
    """Item 9: a 12-bit CT slice without RescaleSlope/RescaleIntercept (not the RSNA quirk: that has an intercept)."""
    name = 'ct_no_rescale.dcm'
    ds = dataset(name, 6)
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = rng.integers(0, 4095, (ROWS, COLS)).astype('<u2').tobytes()
    ds.save_as(path_of(name), write_like_original=False)
    expected['files'][name] = {'channels': 1, 'values': pydicom_values(name), 'missingRescale': True}


def without_position(expected):
    """Item 9: three slices of one series, the middle one without ImagePositionPatient (its patient falls back to InstanceNumber)."""
    for k, z in enumerate([30.0, None, 10.0]):
        name = f'series_{k + 1}.dcm'
        ds = dataset(name, 10 + k)
        ds.InstanceNumber = k + 1
        if z is None:
            del ds.ImagePositionPatient
        else:
            ds.ImagePositionPatient = [0.0, 0.0, z]
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
        ds.PixelData = np.full((ROWS, COLS), 100 * (k + 1), '<i2').tobytes()
        ds.save_as(path_of(name), write_like_original=False)


def enhanced_ct(expected):
    """
    Item 17: an Enhanced CT of three frames stored out of body order, each with its own position and rescale in the
    per-frame functional groups, orientation and spacing shared; and a classic multi-frame MR (top-level tags only).
    """
    name = 'enhanced_ct.dcm'
    ds = dataset(name, 20)
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = '1.2.840.10008.5.1.4.1.1.2.1'
    for tag in ['ImagePositionPatient', 'ImageOrientationPatient', 'InstanceNumber']:
        delattr(ds, tag)
    z, slopes, intercepts = [20.0, 10.0, 30.0], [1.0, 2.0, 1.0], [-1024.0, -1000.0, -1024.0]
    ds.NumberOfFrames = 3
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = rng.integers(0, 4095, (3, ROWS, COLS)).astype('<u2').tobytes()

    def group(keyword, **values):
        item = pydicom.Dataset()
        for key, value in values.items():
            setattr(item, key, value)
        return {keyword: pydicom.Sequence([item])}

    shared = pydicom.Dataset()
    for sequence in [group('PlaneOrientationSequence', ImageOrientationPatient=[1, 0, 0, 0, 1, 0]), group('PixelMeasuresSequence', PixelSpacing=[0.5, 0.5], SliceThickness=1.0)]:
        for keyword, value in sequence.items():
            setattr(shared, keyword, value)
    ds.SharedFunctionalGroupsSequence = pydicom.Sequence([shared])
    frames = []
    for k in range(3):
        item = pydicom.Dataset()
        item.PlanePositionSequence = group('PlanePositionSequence', ImagePositionPatient=[0.0, 0.0, z[k]])['PlanePositionSequence']
        item.PixelValueTransformationSequence = group('PixelValueTransformationSequence', RescaleSlope=slopes[k], RescaleIntercept=intercepts[k], RescaleType='HU')['PixelValueTransformationSequence']
        frames.append(item)
    ds.PerFrameFunctionalGroupsSequence = pydicom.Sequence(frames)
    ds.save_as(path_of(name), write_like_original=False)
    stored = pydicom.dcmread(path_of(name)).pixel_array.astype(np.float64)
    expected['frames'][name] = [
        {'values': (stored[k] * slopes[k] + intercepts[k]).ravel().tolist(), 'imagePosition': [0.0, 0.0, z[k]], 'rescaleSlope': slopes[k], 'rescaleIntercept': intercepts[k]}
        for k in range(3)
    ]

    name = 'multiframe_mr.dcm'
    ds = dataset(name, 21, modality='MR')
    ds.NumberOfFrames = 2
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.PixelData = rng.integers(0, 60000, (2, ROWS, COLS)).astype('<u2').tobytes()
    ds.save_as(path_of(name), write_like_original=False)
    stored = pydicom.dcmread(path_of(name)).pixel_array.astype(np.float64)
    expected['frames'][name] = [{'values': stored[k].ravel().tolist()} for k in range(2)]


def one_bit(expected):
    """Item 17: BitsAllocated 1 (a bitmap), which the reader does not decode: the header scan must say so."""
    name = 'one_bit.dcm'
    ds = dataset(name, 7, modality='OT')
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 1, 1, 0, 0
    ds.PixelData = bytes((ROWS * COLS + 7) // 8)
    ds.save_as(path_of(name), write_like_original=False)
    expected['errors'][name] = ['BitsAllocated 1']


def main():
    os.makedirs(OUT, exist_ok=True)
    expected = {'files': {}, 'frames': {}, 'errors': {}}
    for make in [uint32_unaligned, jpeg_rgb_without_markers, ybr_full_422, explicit_written_implicit, damaged_sequence, ct_without_rescale, without_position, enhanced_ct, one_bit]:
        make(expected)
    with open(os.path.join(OUT, 'expected.json'), 'w') as f:
        json.dump(expected, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
