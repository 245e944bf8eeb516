import { createRequire, syncBuiltinESMExports } from 'node:module';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { log } from '../../src/core/log.ts';
import { warnToLog } from '../../src/metrics/policy.ts';
import { writeFileAtomic } from '../../src/core/atomic.ts';
import { parseRsnaLabels } from '../../src/data/datasets/rsna-ich.ts';
import { BadInput } from '../../src/data/datasets/types.ts';
import { applySet } from '../../src/experiments/config.ts';
import { expandRunDirs } from '../../src/experiments/predict-job.ts';
import { detectFormat } from '../../src/metrics/submission/read.ts';
import { readKerasH5 } from '../../src/models/pretrained/keras-h5.ts';

/** Messages that say what to do (issue 24 item 18): each names the file or field and the fix. */
let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'sliceseq-reliability-messages-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('--set', () => {
  const experiment = { name: 'x', data: { preprocess: [{ name: 'window', windows: ['brain'] }, { name: 'flip', horizontal: 0.5 }] }, model: { decoder: { name: 'lstm', hidden: 4 } } };

  it('names an empty field instead of "Unrecognized key"', () => {
    expect(() => applySet(experiment, 'train..epochs=3')).toThrow("--set 'train..epochs=3': an empty field name in 'train..epochs' (two dots in a row, or a dot at either end)");
  });

  it('sets a list element by its index, and names the list\'s length when the index is past it', () => {
    const changed = applySet(experiment, 'data.preprocess.0.windows=["bone","brain"]') as typeof experiment;
    expect(changed.data.preprocess).toEqual([{ name: 'window', windows: ['bone', 'brain'] }, { name: 'flip', horizontal: 0.5 }]);
    expect(experiment.data.preprocess[0].windows).toEqual(['brain']);
    expect(() => applySet(experiment, 'data.preprocess.2.windows=[]')).toThrow("--set 'data.preprocess.2.windows=[]': data.preprocess is a list of 2; name an element by its index 0…1, e.g. data.preprocess.0, got '2'");
    // Components keep their merge rule: another name replaces the component, the same name merges.
    expect((applySet(experiment, 'model.decoder.name=dense') as typeof experiment).model.decoder).toEqual({ name: 'dense' });
    expect((applySet(experiment, 'model.decoder.hidden=8') as typeof experiment).model.decoder).toEqual({ name: 'lstm', hidden: 8 });
  });
});

describe('labels and submissions', () => {
  it('an RSNA labels file without `any` rows says to set includeAny: false (not "no patients")', () => {
    const rows = ['ID,Label', ...['epidural', 'intraparenchymal', 'intraventricular', 'subarachnoid', 'subdural'].flatMap((s) => [`ID_a_${s},0`, `ID_b_${s},${s === 'subdural' ? 1 : 0}`])];
    const text = `${rows.join('\n')}\n`;
    expect(() => parseRsnaLabels(text, 'labels.csv', new BadInput('skip', 'rsna-ich dataset'))).toThrow(/labels\.csv: no row has the label 'any' .*includeAny: false/);
    const parsed = parseRsnaLabels(text, 'labels.csv', new BadInput('error', 'rsna-ich dataset'), { includeAny: false });
    expect([...parsed.rows.keys()]).toEqual(['ID_a', 'ID_b']);
    const row = parsed.rows.get('ID_b')!;
    expect(Array.from(parsed.values.subarray(row * 6, row * 6 + 6))).toEqual([0, 0, 0, 0, 1, 1]);
  });

  it('a submission without its header line names the ID,Label header', () => {
    expect(() => detectFormat(['ID_12cadc6af_epidural', '0.25'], 'sub.csv')).toThrow(/sub\.csv: the first line 'ID_12cadc6af_epidural,0\.25' is a data row, not a header; .*starts with the line ID,Label/);
    expect(detectFormat(['ID', 'Label'], 'sub.csv')).toBe('long');
  });
});

describe('files', () => {
  it('a file that is not HDF5 says so, with its first bytes', () => {
    const fake = join(work, 'fake.h5');
    writeFileSync(fake, 'not really hdf5');
    expect(() => readKerasH5(fake)).toThrow(/fake\.h5: not an HDF5 file: it does not start with the HDF5 signature \(89 48 44 46 0d 0a 1a 0a\), but with 6e 6f 74 20/);
  });

  it('a full disk names the file it could not write and leaves the old one', () => {
    const path = join(work, 'metrics.json');
    writeFileSync(path, 'old');
    const fs = createRequire(import.meta.url)('node:fs') as typeof import('node:fs');
    const original = fs.writeFileSync;
    fs.writeFileSync = () => {
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    };
    syncBuiltinESMExports();
    try {
      expect(() => writeFileAtomic(path, 'new')).toThrow(`cannot write ${path}: no space left on the device: free some space and run the command again (the file there, if any, is unchanged)`);
    } finally {
      fs.writeFileSync = original;
      syncBuiltinESMExports();
    }
    expect(readFileSync(path, 'utf8')).toBe('old');
  });

  it('predict on an unfinished run says to finish it with --resume', () => {
    const run = join(work, 'tiny-seed0-fold0');
    mkdirSync(join(run, 'checkpoints'), { recursive: true });
    writeFileSync(join(run, 'config.json'), '{}');
    expect(() => expandRunDirs([run])).toThrow(/an unfinished run \(no metrics\.json or model\/ yet; its checkpoints\/ hold the last epoch\): finish it with `sliceseq run <experiment> --resume`/);
  });
});

describe('repeated warnings (item 19)', () => {
  it('a metric note that repeats every epoch and fold is shown once, then counted', () => {
    const warn = vi.spyOn(log, 'warn').mockImplementation(() => {});
    try {
      warnToLog('ROC-AUC: undefined for 1 class(es), reported as null and left out of averages: epidural (no positive target)');
      warnToLog('ROC-AUC: undefined for 2 class(es), reported as null and left out of averages: epidural, subdural (no positive target)');
      warnToLog('ROC-AUC: undefined for 1 class(es), reported as null and left out of averages: epidural (no positive target)');
      warnToLog('average precision: undefined for 1 class(es): epidural (no positive target)');
      expect(warn.mock.calls.map(([message]) => message)).toEqual([
        'ROC-AUC: undefined for 1 class(es), reported as null and left out of averages: epidural (no positive target)',
        'average precision: undefined for 1 class(es): epidural (no positive target)',
      ]);
    } finally {
      warn.mockRestore();
    }
  });
});
