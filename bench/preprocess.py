#!/usr/bin/python3
"""Python twin of bench/preprocess.ts: DICOM decode + HU (pydicom) -> brain/subdural/bone windows (numpy) ->
CLAHE per channel on 8-bit (OpenCV, clip 3, 8x8 tiles) -> resize to 224 (OpenCV bilinear), at 64x64 and 224x224,
with --threads files processed at once (a thread pool; OpenCV itself single-threaded, as each of our workers is),
stacked into batches of 64 slices as the TypeScript loader stacks them.

    /usr/bin/python3 bench/preprocess.py [--slices 320] [--threads 1] [--dir FOLDER]

Without --dir it writes its own int16 CT-like DICOM files (pydicom) to a temporary folder; with --dir it reads
FOLDER/size64/*.dcm and FOLDER/size224/*.dcm. Prints JSON shaped like benchPreprocess(): slicesPerSecond
(total slices / total seconds) and one entry per size.
"""
import argparse
import concurrent.futures
import glob
import json
import os
import shutil
import tempfile
import time

import cv2
import numpy as np
import pydicom
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

WINDOWS = [(40, 80), (80, 200), (600, 2800)]  # brain, subdural, bone (centre, width)
CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2'


def write_slices(folder, size, count, rng):
    """CT-like slices: air, a skull ring, brain with noise; int16 stored, intercept -1024."""
    os.makedirs(folder, exist_ok=True)
    y, x = np.mgrid[0:size, 0:size]
    radius = np.hypot((x - size / 2) / (0.38 * size), (y - size / 2) / (0.44 * size))
    for index in range(count):
        hu = np.where(radius > 1, -1000.0, np.where(radius > 0.9, 1000.0, 35.0))
        hu += rng.normal(0, 5, hu.shape)
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CT_IMAGE_STORAGE
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = FileDataset(None, {}, file_meta=meta, preamble=b'\0' * 128)
        ds.is_little_endian, ds.is_implicit_VR = True, False
        ds.SOPClassUID, ds.SOPInstanceUID = CT_IMAGE_STORAGE, meta.MediaStorageSOPInstanceUID
        ds.Rows = ds.Columns = size
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, 'MONOCHROME2'
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
        ds.PixelData = (np.clip(np.round(hu), -1024, 3071) + 1024).astype('<i2').tobytes()
        ds.save_as(os.path.join(folder, f'{index:05d}.dcm'), write_like_original=False)


def preprocess(path, clahe):
    ds = pydicom.dcmread(path)
    hu = ds.pixel_array.astype(np.float32) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    channels = []
    for centre, width in WINDOWS:
        low = centre - width / 2
        unit = np.clip((hu - low) / width, 0, 1)
        equalised = clahe.apply(np.round(unit * 255).astype(np.uint8))
        channels.append(equalised.astype(np.float32) / 255)
    image = np.stack(channels, axis=-1)
    return cv2.resize(image, (224, 224), interpolation=cv2.INTER_LINEAR)


# Slices per batch, as bench/preprocess.ts batches them (4 patients of 16 slices).
BATCH_SLICES = 4 * 16


def run_case(files, threads):
    """Preprocesses every file on `threads` threads and stacks the results into batches on the calling thread, in
    order, as a loader's collate does (the TypeScript loader stacks its workers' slices on its main thread)."""
    # One CLAHE object per thread (OpenCV algorithm objects are not meant to be shared between threads).
    local = __import__('threading').local()

    def one(path):
        if not hasattr(local, 'clahe'):
            local.clahe = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8))
        out = preprocess(path, local.clahe)
        assert out.shape == (224, 224, 3)
        return out

    def batches(outputs):
        batch = []
        for out in outputs:
            batch.append(out)
            if len(batch) == BATCH_SLICES:
                yield np.stack(batch)
                batch = []
        if batch:
            yield np.stack(batch)

    with concurrent.futures.ThreadPoolExecutor(max_workers=threads) as pool:
        list(batches(pool.map(one, files[: 2 * threads])))  # warm-up
        start = time.perf_counter()
        for stacked in batches(pool.map(one, files)):
            assert stacked.shape[1:] == (224, 224, 3)
        return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--slices', type=int, default=320)
    parser.add_argument('--threads', type=int, default=1, help='files processed at once')
    parser.add_argument('--dir', help='folder holding size64/ and size224/ DICOM files')
    args = parser.parse_args()
    cv2.setNumThreads(1)
    work = args.dir or tempfile.mkdtemp(prefix='sliceseq-bench-py-')
    try:
        cases = []
        rng = np.random.default_rng(1)
        for size in (64, 224):
            folder = os.path.join(work, f'size{size}')
            if not args.dir:
                write_slices(folder, size, args.slices, rng)
            files = sorted(glob.glob(os.path.join(folder, '*.dcm')))
            if not files:
                raise SystemExit(f'{folder}: no .dcm files')
            seconds = run_case(files, args.threads)
            cases.append({'size': size, 'slices': len(files), 'seconds': seconds, 'slicesPerSecond': len(files) / seconds})
        total = sum(c['slices'] for c in cases)
        print(json.dumps({
            'slicesPerSecond': total / sum(c['seconds'] for c in cases),
            'cases': cases,
            'pipeline': 'pydicom (HU) -> window x3 -> cv2 CLAHE -> cv2 resize 224 -> np.stack per 64 slices',
            'threads': args.threads,
        }, indent=2))
    finally:
        if not args.dir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
