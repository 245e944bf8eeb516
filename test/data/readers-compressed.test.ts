import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readDicom, readDicomMeta } from '../../src/data/readers/dicom.ts';
import { transferSyntax } from '../../src/data/readers/transfer-syntax.ts';

// Made by scripts/make-compressed-dicom-fixtures.py with Debian's dcmtk and GDCM from uncompressed sources.
const dir = join(import.meta.dirname, '../fixtures/dicom-compressed');
const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as {
  cases: Array<{ file: string; syntax: string; lossless: boolean; reference: string; tolerance: number }>;
  unsupported: Record<string, string>;
};

describe('compressed DICOM (dcmtk and GDCM fixtures)', () => {
  it.each(expected.cases.map((c) => [c.file, c] as const))('%s decodes as the tools do', async (_name, c) => {
    const [slice, reference] = await Promise.all([readDicom(join(dir, c.file)), readDicom(join(dir, c.reference))]);
    expect(slice.meta.transferSyntaxUid).toBe(c.syntax);
    expect([slice.rows, slice.cols, slice.channels]).toEqual([reference.rows, reference.cols, reference.channels]);
    if (c.lossless) {
      // Bit-exact: the source's stored values, rescaled alike.
      expect(Array.from(slice.data)).toEqual(Array.from(reference.data));
    } else {
      const worst = slice.data.reduce((max, v, i) => Math.max(max, Math.abs(v - reference.data[i])), 0);
      expect(worst).toBeLessThanOrEqual(c.tolerance);
    }
  });

  it('covers JPEG Baseline, JPEG Lossless (process 14 and SV1), JPEG-LS (lossless, near-lossless), JPEG 2000 (lossless, lossy) and RLE', () => {
    const syntaxes = new Set(expected.cases.map((c) => c.syntax));
    const uids = ['1.2.840.10008.1.2.4.50', '1.2.840.10008.1.2.4.57', '1.2.840.10008.1.2.4.70', '1.2.840.10008.1.2.4.80', '1.2.840.10008.1.2.4.81'];
    for (const uid of [...uids, '1.2.840.10008.1.2.4.90', '1.2.840.10008.1.2.4.91', '1.2.840.10008.1.2.5']) {
      expect(syntaxes.has(uid), uid).toBe(true);
      expect(transferSyntax(uid).decodable).toBe(true);
    }
  });

  it('a syntax without a decoder keeps the clear error, at the header scan already', async () => {
    for (const [file, uid] of Object.entries(expected.unsupported)) {
      const path = join(dir, file);
      const message = `${path}: compressed transfer syntax ${transferSyntax(uid).name} (${uid}) is not supported; decompress first`;
      await expect(readDicom(path)).rejects.toThrow(message);
      await expect(readDicomMeta(path)).rejects.toThrow(message);
    }
    // Decodable syntaxes pass the header scan.
    expect((await readDicomMeta(join(dir, 'jpegls_int16.dcm'))).transferSyntaxUid).toBe('1.2.840.10008.1.2.4.80');
  });

  it('a corrupt compressed frame is an error naming the file and the syntax', async () => {
    await expect(readDicom('test/fixtures/dicom/jpeg_lossless.dcm')).rejects.toThrow(
      /^test\/fixtures\/dicom\/jpeg_lossless\.dcm: cannot decode JPEG Lossless, Non-Hierarchical, First-Order Prediction \(1\.2\.840\.10008\.1\.2\.4\.70\) pixel data: /,
    );
  });
});
