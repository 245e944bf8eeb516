#!/usr/bin/python3
"""Writes test/fixtures/dicom-compressed/: small uncompressed sources (pydicom) and what Debian's dcmtk
(dcmcjpeg, dcmcjpls, dcmcrle) and GDCM (gdcmconv --j2k) make of them, so test/data/readers-compressed.test.ts
checks our decoders: lossless files must decode to the source's exact values, lossy ones to what the tools'
own decompression (dcmdjpeg, dcmdjpls, gdcmconv --raw) gives, up to a stated tolerance.

Run with the system Python and tools (apt-get install python3-pydicom dcmtk libgdcm-tools):
    /usr/bin/python3 scripts/make-compressed-dicom-fixtures.py
"""
import json
import os
import subprocess
import tempfile

import numpy as np
import pydicom
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'dicom-compressed')
SIZE = 64  # OpenJPEG (gdcmconv --j2k) needs images of at least this size with its default resolution levels
UID_ROOT = '2.25.27182818284590452353602874713526624977'
rng = np.random.default_rng(20261205)


def source(name, bits_stored, signed, modality, index):
    """A CT-like slice: a ring around textured tissue, with noise, in the given stored-value range."""
    y, x = np.mgrid[0:SIZE, 0:SIZE]
    radius = np.hypot((x - SIZE / 2) / (0.4 * SIZE), (y - SIZE / 2) / (0.45 * SIZE))
    low, high = (-(2 ** (bits_stored - 1)), 2 ** (bits_stored - 1) - 1) if signed else (0, 2 ** bits_stored - 1)
    span = high - low
    unit = np.where(radius > 1, 0.02, np.where(radius > 0.85, 0.95, 0.45 + 0.1 * np.sin(x / 3.0) * np.cos(y / 4.0)))
    values = np.clip(np.round(low + span * unit + rng.normal(0, span * 0.01, unit.shape)), low, high)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = '1.2.840.10008.5.1.4.1.1.2'
    meta.MediaStorageSOPInstanceUID = f'{UID_ROOT}.{index}'
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = f'{UID_ROOT}.9'
    ds = FileDataset(name, {}, file_meta=meta, preamble=b'\0' * 128)
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = f'{UID_ROOT}.1', f'{UID_ROOT}.2'
    ds.Modality = modality
    ds.Rows = ds.Columns = SIZE
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, 'MONOCHROME2'
    allocated = 8 if bits_stored <= 8 else 16
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = allocated, bits_stored, bits_stored - 1, int(signed)
    ds.RescaleSlope, ds.RescaleIntercept = 1, (-1024 if modality == 'CT' and not signed else 0)
    dtype = {(8, False): '<u1', (16, False): '<u2', (16, True): '<i2'}[(allocated, signed)]
    ds.PixelData = values.astype(dtype).tobytes()
    ds.save_as(os.path.join(OUT, name), write_like_original=False)
    return values


def run(*command):
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def pixels(path):
    return pydicom.dcmread(path).pixel_array.astype(np.int64)


def main():
    os.makedirs(OUT, exist_ok=True)
    sources = {
        'source_int16.dcm': source('source_int16.dcm', 16, True, 'CT', 1),
        'source_uint12.dcm': source('source_uint12.dcm', 12, False, 'MR', 2),
        'source_uint8.dcm': source('source_uint8.dcm', 8, False, 'OT', 3),
    }
    src = lambda name: os.path.join(OUT, name)  # noqa: E731
    cases = []
    with tempfile.TemporaryDirectory() as work:
        def lossless(name, syntax, compress, decompress, base):
            target = src(name)
            compress(src(base), target)
            plain = os.path.join(work, name)
            decompress(target, plain)
            # The tools' own round trip must give the source back, or the fixture would test nothing.
            assert np.array_equal(pixels(plain), sources[base]), f'{name}: the tool round trip is not lossless'
            cases.append({'file': name, 'syntax': syntax, 'lossless': True, 'reference': base, 'tolerance': 0})

        def lossy(name, syntax, compress, decompress, base, tolerance):
            target = src(name)
            compress(src(base), target)
            reference = name.replace('.dcm', '.reference.dcm')
            decompress(target, src(reference))
            cases.append({'file': name, 'syntax': syntax, 'lossless': False, 'reference': reference, 'tolerance': tolerance})

        dcmdjpeg = lambda a, b: run('dcmdjpeg', a, b)  # noqa: E731
        dcmdjpls = lambda a, b: run('dcmdjpls', a, b)  # noqa: E731
        dcmdrle = lambda a, b: run('dcmdrle', a, b)  # noqa: E731
        gdcm_raw = lambda a, b: run('gdcmconv', '--raw', a, b)  # noqa: E731
        for base in ('source_int16.dcm', 'source_uint12.dcm', 'source_uint8.dcm'):
            kind = base[len('source_'):-len('.dcm')]
            lossless(f'jpeg_sv1_{kind}.dcm', '1.2.840.10008.1.2.4.70', lambda a, b: run('dcmcjpeg', '+e1', a, b), dcmdjpeg, base)
            lossless(f'jpegls_{kind}.dcm', '1.2.840.10008.1.2.4.80', lambda a, b: run('dcmcjpls', '+el', a, b), dcmdjpls, base)
            lossless(f'j2k_{kind}.dcm', '1.2.840.10008.1.2.4.90', lambda a, b: run('gdcmconv', '--j2k', a, b), gdcm_raw, base)
            lossless(f'rle_{kind}.dcm', '1.2.840.10008.1.2.5', lambda a, b: run('dcmcrle', a, b), dcmdrle, base)
        lossless('jpeg_p14_int16.dcm', '1.2.840.10008.1.2.4.57', lambda a, b: run('dcmcjpeg', '+el', a, b), dcmdjpeg, 'source_int16.dcm')
        # Lossy: our decoders and the tools' may round an IDCT differently by one grey level.
        lossy('jpeg_baseline_uint8.dcm', '1.2.840.10008.1.2.4.50', lambda a, b: run('dcmcjpeg', '+eb', a, b), dcmdjpeg, 'source_uint8.dcm', 1)
        lossy('jpegls_near_uint8.dcm', '1.2.840.10008.1.2.4.81', lambda a, b: run('dcmcjpls', '+en', a, b), dcmdjpls, 'source_uint8.dcm', 0)
        # Irreversible (9/7 wavelet, floating point): the wasm build and Debian's OpenJPEG may round differently.
        lossy('j2k_lossy_int16.dcm', '1.2.840.10008.1.2.4.91', lambda a, b: run('gdcmconv', '--j2k', '--lossy', '-q', '40', a, b), gdcm_raw, 'source_int16.dcm', 1)
        # Still unsupported (12-bit JPEG Extended): must keep the clear error.
        run('dcmcjpeg', '+ee', src('source_uint12.dcm'), src('jpeg_extended_uint12.dcm'))
    with open(os.path.join(OUT, 'expected.json'), 'w') as f:
        json.dump({'cases': cases, 'unsupported': {'jpeg_extended_uint12.dcm': '1.2.840.10008.1.2.4.51'}}, f, indent=1)
        f.write('\n')
    print(f'wrote {len(cases)} compressed fixtures to {OUT}')


if __name__ == '__main__':
    main()
