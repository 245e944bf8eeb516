import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * TensorFlow's own event reader (scripts/read-tensorboard.py, summary_iterator from the tensorflow-cpu wheel in
 * .venv-keras, which .ci/run builds): what TensorBoard would read, CRCs checked.
 */
export interface PythonEvent {
  step: number;
  wall_time: number;
  file_version: string | null;
  session_start: boolean;
  values: Array<{ tag: string; simple_value?: number; histogram?: number[][]; plugin?: string }>;
}

const script = join(import.meta.dirname, '..', '..', 'scripts', 'read-tensorboard.py');

export const tensorflowPython: string | undefined = [process.env.SLICESEQ_KERAS_PYTHON, '.venv-keras/bin/python'].find(
  // Found without importing TensorFlow (seconds): the reader itself fails loudly if the install is broken.
  (python) => python && spawnSync(python, ['-c', 'import importlib.util, sys; sys.exit(importlib.util.find_spec("tensorflow") is None)'], { stdio: 'ignore' }).status === 0,
);
if (!tensorflowPython) console.warn('TensorBoard read-back tests skipped: no Python with tensorflow (.ci/run builds .venv-keras; or set SLICESEQ_KERAS_PYTHON)');

/** Every event file in `logdir` and below, by path relative to it (train/events.out…), as TensorFlow reads it. */
export function readWithTensorflow(logdir: string): Record<string, PythonEvent[]> {
  const result = spawnSync(tensorflowPython!, [script, logdir], { encoding: 'utf8', maxBuffer: 256 * 2 ** 20 });
  if (result.status !== 0) throw new Error(`read-tensorboard.py ${logdir} failed: ${result.stderr.split('\n').slice(-5).join('\n')}`);
  return JSON.parse(result.stdout) as Record<string, PythonEvent[]>;
}
