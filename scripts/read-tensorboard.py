#!/usr/bin/env python3
"""Reads TensorBoard event files with TensorFlow's own reader and prints them as JSON (for test/runs/tensorboard*).

Usage:  .venv-keras/bin/python scripts/read-tensorboard.py LOGDIR
Prints one JSON object: {path: [event, ...]} for every events.out.tfevents.* file in LOGDIR and its sub-folders
(paths relative to LOGDIR, e.g. train/events.out.tfevents...), in name order.
Each event: step, wall_time, file_version, session_start, and values: tag with simple_value (a scalar) or
histogram ([[left, right, count], ...], from a `histograms` plugin tensor). TensorFlow's record reader checks
every record's masked CRC-32C, so a bad checksum fails here.
"""
import json
import os
import sys

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
import warnings  # noqa: E402

warnings.filterwarnings('ignore')
from tensorflow.core.util import event_pb2  # noqa: E402
from tensorflow.python.framework import tensor_util  # noqa: E402
from tensorflow.python.summary.summary_iterator import summary_iterator  # noqa: E402


def value_json(v):
    out = {'tag': v.tag}
    if v.HasField('simple_value'):
        out['simple_value'] = v.simple_value
    if v.HasField('tensor'):
        array = tensor_util.MakeNdarray(v.tensor)
        out['plugin'] = v.metadata.plugin_data.plugin_name
        if out['plugin'] == 'histograms':
            out['histogram'] = array.astype(float).tolist()
        elif array.size == 1:
            out['simple_value'] = float(array.reshape(()))
    return out


def main(logdir):
    files = sorted(os.path.relpath(os.path.join(folder, name), logdir)
                   for folder, _, names in os.walk(logdir) for name in names if 'tfevents' in name)
    result = {}
    for name in files:
        events = []
        for e in summary_iterator(os.path.join(logdir, name)):
            events.append({
                'step': e.step,
                'wall_time': e.wall_time,
                'file_version': e.file_version if e.HasField('file_version') else None,
                'session_start': e.HasField('session_log') and e.session_log.status == event_pb2.SessionLog.START,
                'values': [value_json(v) for v in e.summary.value],
            })
        result[name] = events
    json.dump(result, sys.stdout)


if __name__ == '__main__':
    main(sys.argv[1])
