#!/usr/bin/python3
"""The Python route bench/scale.ts compares with: a header scan with pydicom (stop_before_pixels), keeping the
fields sliceseq's index keeps, over --processes worker processes; and the labels CSV with pandas, read and
pivoted to one row per image (what parseRsnaLabels builds).

    /usr/bin/python3 bench/scale_peer.py --dir DATASET [--processes 1] [--skip-scan] [--skip-csv]

Prints JSON: scan {files, seconds, filesPerSecond, peakRssMb}, csv {rows, images, seconds, peakRssMb}.
"""
import argparse
import concurrent.futures
import json
import os
import resource
import time
import warnings

import pydicom

# The competition's files hold `ID_…` UIDs, which pydicom warns about once per value: silenced, as a user would.
warnings.simplefilter('ignore')

FIELDS = ('StudyInstanceUID', 'SeriesInstanceUID', 'SOPInstanceUID', 'InstanceNumber', 'ImagePositionPatient', 'ImageOrientationPatient')


def header(path):
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    out = {}
    for name in FIELDS:
        value = ds.get(name)
        if value is None:
            continue
        out[name] = [float(v) for v in value] if name.startswith('Image') else (int(value) if name == 'InstanceNumber' else str(value))
    return out


def headers(paths):
    warnings.simplefilter('ignore')
    return [header(p) for p in paths]


def peak_rss_mb(children=False):
    usage = resource.getrusage(resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF)
    return usage.ru_maxrss / 1024


def scan(folder, processes):
    paths = sorted(os.path.join(folder, name) for name in os.listdir(folder) if name.lower().endswith('.dcm'))
    start = time.perf_counter()
    if processes == 1:
        results = headers(paths)
    else:
        chunks = [paths[i:i + 512] for i in range(0, len(paths), 512)]
        with concurrent.futures.ProcessPoolExecutor(processes) as pool:
            results = [h for chunk in pool.map(headers, chunks) for h in chunk]
    seconds = time.perf_counter() - start
    assert len(results) == len(paths)
    return {'files': len(paths), 'processes': processes, 'seconds': seconds, 'filesPerSecond': len(paths) / seconds,
            'peakRssMb': max(peak_rss_mb(), peak_rss_mb(True))}


def labels_csv(path):
    import pandas as pd
    start = time.perf_counter()
    frame = pd.read_csv(path)
    parts = frame['ID'].str.rsplit('_', n=1, expand=True)
    frame['image'] = parts[0]
    frame['subtype'] = parts[1]
    frame = frame.drop_duplicates(['image', 'subtype'])
    wide = frame.pivot(index='image', columns='subtype', values='Label')
    seconds = time.perf_counter() - start
    return {'rows': len(frame), 'images': len(wide), 'seconds': seconds, 'peakRssMb': peak_rss_mb()}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--dir', required=True)
    parser.add_argument('--processes', type=int, default=1)
    parser.add_argument('--skip-scan', action='store_true')
    parser.add_argument('--skip-csv', action='store_true')
    args = parser.parse_args()
    out = {'pydicom': pydicom.__version__}
    if not args.skip_csv:
        out['csv'] = labels_csv(os.path.join(args.dir, 'stage_2_train.csv'))
    if not args.skip_scan:
        out['scan'] = scan(os.path.join(args.dir, 'stage_2_train'), args.processes)
    print(json.dumps(out))


if __name__ == '__main__':
    main()
