import { Command } from 'commander';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerInspect } from '../../src/cli/commands/inspect.ts';
import { setLogLevel } from '../../src/core/log.ts';
import { formatFileReport, inspectFile } from '../../src/data/readers/inspect.ts';

beforeAll(() => setLogLevel('silent'));
afterAll(() => setLogLevel('info'));
afterEach(() => {
  process.exitCode = undefined;
});

async function run(...args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  registerInspect(program);
  const chunks: string[] = [];
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    chunks.push(String(chunk));
    return true;
  });
  try {
    await program.parseAsync(['node', 'sliceseq', 'inspect', ...args]);
  } finally {
    stdout.mockRestore();
  }
  return chunks.join('');
}

describe('inspectFile', () => {
  it('reports the tags that matter and the HU range of a DICOM file', async () => {
    const report = await inspectFile('test/fixtures/dicom/rsna_quirk.dcm');
    expect(report).toMatchObject({ ok: true, kind: 'dicom', rows: 6, cols: 8, channels: 1, rsnaQuirk: true, transferSyntaxName: 'Explicit VR Little Endian' });
    expect(report.meta?.rescaleIntercept).toBe(-1000);
    expect(report.values!.min).toBe(-1000);
    const text = formatFileReport(report).join('\n');
    for (const label of ['transfer', 'study', 'series', 'sop', 'position', 'orientation', 'spacing', 'rescale', 'window', 'HU range', 'RSNA']) {
      expect(text).toContain(label);
    }
  });

  it('reports a bad file with its reason instead of throwing', async () => {
    const report = await inspectFile('test/fixtures/dicom/no_pixel_data.dcm');
    expect(report.ok).toBe(false);
    expect(report.error).toBe('test/fixtures/dicom/no_pixel_data.dcm: DICOM file has no pixel data (7FE0,0010)');
  });

  it('covers NIfTI volumes (slice count, range over all slices)', async () => {
    const report = await inspectFile('test/fixtures/nifti/volume.nii.gz');
    expect(report).toMatchObject({ ok: true, kind: 'nifti', slices: 5, rows: 4, cols: 3 });
  });
});

describe('sliceseq inspect', () => {
  it('prints the report and leaves the exit code alone for a good file', async () => {
    const out = await run('test/fixtures/dicom/multi_window.dcm');
    expect(out).toContain('40/80, 80/200 (centre/width)');
    expect(process.exitCode).toBeUndefined();
  });

  it('exits non-zero with the reason for a bad file (JSON too)', async () => {
    const out = await run('test/fixtures/dicom/truncated.dcm', '--json');
    expect(JSON.parse(out)).toMatchObject({ ok: false, error: expect.stringContaining('truncated DICOM file') });
    expect(process.exitCode).toBe(1);
  });

  it('refuses a folder and a missing path', async () => {
    await expect(run('test/fixtures/dicom')).rejects.toThrow('is a folder');
    await expect(run('test/fixtures/dicom/absent.dcm')).rejects.toThrow('no such file');
  });
});
