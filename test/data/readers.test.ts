import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setLogLevel } from '../../src/core/log.ts';
import { decodeNativePixels } from '../../src/data/readers/dicom-pixels.ts';
import { DataFileError, readDicom, readDicomMeta, readImage, readMeta, readNifti, readSlices } from '../../src/data/readers/index.ts';

/** Fixtures and expected values come from scripts/make-dicom-fixtures.py (pydicom, nibabel, OpenCV). */
const dicomDir = 'test/fixtures/dicom';
const dicomExpected = JSON.parse(readFileSync(join(dicomDir, 'expected.json'), 'utf8')) as {
  files: Record<string, Record<string, unknown> & { values: number[]; rows: number; cols: number; trueHu?: number[]; valuesWithoutFix?: number[] }>;
  errors: Record<string, string[]>;
};
const niftiExpected = JSON.parse(readFileSync('test/fixtures/nifti/expected.json', 'utf8')) as {
  shape: number[];
  axes: Record<string, Array<{ rows: number; cols: number; values: number[]; imagePosition: number[] }>>;
};
const imageExpected = JSON.parse(readFileSync('test/fixtures/images/expected.json', 'utf8')) as {
  rows: number;
  cols: number;
  files: Record<string, { channels: number; values: number[] }>;
};

beforeAll(() => setLogLevel('silent'));
afterAll(() => setLogLevel('info'));

function expectClose(actual: ArrayLike<number>, expected: readonly number[], tolerance = 1e-3): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (Math.abs(actual[i] - expected[i]) > tolerance) {
      throw new Error(`value ${i}: got ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

describe('readDicom against pydicom', () => {
  for (const [name, expected] of Object.entries(dicomExpected.files)) {
    it(`decodes ${name} like pydicom (pixel_array × slope + intercept)`, async () => {
      const slice = await readDicom(join(dicomDir, name));
      expect([slice.rows, slice.cols, slice.channels]).toEqual([expected.rows, expected.cols, 1]);
      expectClose(slice.data, expected.values);
      const meta = slice.meta;
      expect(meta.format).toBe('dicom');
      expect(meta.studyInstanceUid).toBe(expected.studyInstanceUid);
      expect(meta.seriesInstanceUid).toBe(expected.seriesInstanceUid);
      expect(meta.sopInstanceUid).toBe(expected.sopInstanceUid);
      expect(meta.instanceNumber).toBe(expected.instanceNumber);
      expect(meta.imagePosition).toEqual(expected.imagePosition);
      expect(meta.imageOrientation).toEqual(expected.imageOrientation);
      expect(meta.pixelSpacing).toEqual(expected.pixelSpacing);
      expect(meta.rescaleSlope).toBe(expected.rescaleSlope);
      expect(meta.rescaleIntercept).toBe(expected.rescaleIntercept);
      expect(meta.windowCenter).toEqual(expected.windowCenter);
      expect(meta.windowWidth).toEqual(expected.windowWidth);
      expect(meta.transferSyntaxUid).toBe(expected.transferSyntaxUid);
    });
  }

  it('reads the header alone with the same metadata', async () => {
    for (const name of Object.keys(dicomExpected.files)) {
      const path = join(dicomDir, name);
      expect(await readDicomMeta(path)).toEqual((await readDicom(path)).meta);
    }
  });

  it('repairs the RSNA 12-bit intercept quirk by default, recovering the true HU', async () => {
    const expected = dicomExpected.files['rsna_quirk.dcm'];
    const fixed = await readDicom(join(dicomDir, 'rsna_quirk.dcm'));
    expectClose(fixed.data, expected.trueHu!);
    expect(fixed.meta.rescaleIntercept).toBe(-1000);
  });

  it('leaves the quirk alone when rsnaInterceptFix is false', async () => {
    const expected = dicomExpected.files['rsna_quirk.dcm'];
    const raw = await readDicom(join(dicomDir, 'rsna_quirk.dcm'), { rsnaInterceptFix: false });
    expectClose(raw.data, expected.valuesWithoutFix!);
    expect(raw.meta.rescaleIntercept).toBe(0);
  });

  it('does not apply the quirk fix to a 12-bit file with a proper intercept', async () => {
    const slice = await readDicom(join(dicomDir, 'rsna_normal_12bit.dcm'));
    expect(slice.meta.rescaleIntercept).toBe(-1024);
  });

  it('keeps every value of a multi-valued window', async () => {
    const meta = await readDicomMeta(join(dicomDir, 'multi_window.dcm'));
    expect(meta.windowCenter).toEqual([40, 80]);
    expect(meta.windowWidth).toEqual([80, 200]);
  });
});

describe('bad DICOM input names the file and the reason', () => {
  for (const [name, fragments] of Object.entries(dicomExpected.errors)) {
    it(`rejects ${name}`, async () => {
      const path = join(dicomDir, name);
      const error = await readDicom(path).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DataFileError);
      const message = (error as Error).message;
      expect(message.startsWith(`${path}: `)).toBe(true);
      for (const fragment of fragments) expect(message).toContain(fragment);
    });
  }

  it('reports a missing file by name', async () => {
    await expect(readDicom(join(dicomDir, 'absent.dcm'))).rejects.toThrow(`${join(dicomDir, 'absent.dcm')}: cannot read file`);
  });

  it('still reads the header of a compressed file (only pixels are refused)', async () => {
    const meta = await readDicomMeta(join(dicomDir, 'jpeg_lossless.dcm'));
    expect(meta.transferSyntaxUid).toBe('1.2.840.10008.1.2.4.70');
    expect(meta.rescaleIntercept).toBe(-1024);
  });
});

describe('the header read finds bad pixel data early', () => {
  it('refuses a file without pixel data, a truncated one, and one whose pixel data is shorter than its image', async () => {
    await expect(readDicomMeta(join(dicomDir, 'no_pixel_data.dcm'))).rejects.toThrow(`${join(dicomDir, 'no_pixel_data.dcm')}: DICOM file has no pixel data`);
    await expect(readDicomMeta(join(dicomDir, 'truncated.dcm'))).rejects.toThrow(
      /truncated\.dcm: truncated DICOM file \(pixel data declares 96 bytes from byte \d+, the file has 866\)/,
    );
    // Rows 6 → 7 in the header (0028,0010 US): 7 × 8 × 2 bytes needed, 96 present.
    const bytes = readFileSync(join(dicomDir, 'explicit_le_int16.dcm'));
    const rowsTag = Buffer.from([0x28, 0x00, 0x10, 0x00, 0x55, 0x53, 0x02, 0x00, 0x06, 0x00]);
    const at = bytes.indexOf(rowsTag);
    expect(at).toBeGreaterThan(0);
    bytes[at + 8] = 7;
    const work = mkdtempSync(join(tmpdir(), 'sliceseq-short-'));
    try {
      const short = join(work, 'short_pixels.dcm');
      writeFileSync(short, bytes);
      await expect(readDicomMeta(short)).rejects.toThrow(`${short}: pixel data holds 96 bytes, expected 112 (7x8, 1 sample(s), 16 bits)`);
      await expect(readDicom(short)).rejects.toThrow('pixel data holds 96 bytes, expected 112');
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});

describe('decodeNativePixels (hand-computed)', () => {
  it('masks bits above BitsStored and sign-extends 12-bit values', () => {
    // Little endian 16-bit words: 0xF801 (overlay bit 15 set, 12-bit 0x801 = −2047 signed), 0x0FFF (−1), 0x07FF (2047).
    const bytes = new Uint8Array([0x01, 0xf8, 0xff, 0x0f, 0xff, 0x07]);
    const format = { rows: 1, cols: 3, samplesPerPixel: 1, bitsAllocated: 16, bitsStored: 12, planarConfiguration: 0, littleEndian: true };
    expect(Array.from(decodeNativePixels(bytes, { ...format, pixelRepresentation: 1 }))).toEqual([-2047, -1, 2047]);
    expect(Array.from(decodeNativePixels(bytes, { ...format, pixelRepresentation: 0 }))).toEqual([0x801, 0xfff, 0x7ff]);
  });

  it('reads big-endian words and planar colour into channels-last order', () => {
    const bigEndian = new Uint8Array([0x01, 0x02, 0xff, 0xfe]);
    const format = { rows: 1, cols: 2, samplesPerPixel: 1, bitsAllocated: 16, bitsStored: 16, pixelRepresentation: 1, planarConfiguration: 0, littleEndian: false };
    expect(Array.from(decodeNativePixels(bigEndian, format))).toEqual([0x0102, -2]);
    const planar = new Uint8Array([1, 2, 10, 20, 100, 200]); // R plane, G plane, B plane of two pixels
    const rgb = { rows: 1, cols: 2, samplesPerPixel: 3, bitsAllocated: 8, bitsStored: 8, pixelRepresentation: 0, planarConfiguration: 1, littleEndian: true };
    expect(Array.from(decodeNativePixels(planar, rgb))).toEqual([1, 10, 100, 2, 20, 200]);
  });

  it('refuses pixel data shorter than the image', () => {
    const format = { rows: 2, cols: 2, samplesPerPixel: 1, bitsAllocated: 16, bitsStored: 16, pixelRepresentation: 0, planarConfiguration: 0, littleEndian: true };
    expect(() => decodeNativePixels(new Uint8Array(6), format)).toThrow('pixel data holds 6 bytes, expected 8');
  });
});

describe('readImage', () => {
  for (const [name, expected] of Object.entries(imageExpected.files)) {
    it(`reads ${name} with channels and bit depth as stored`, async () => {
      const slice = await readImage(join('test/fixtures/images', name));
      expect([slice.rows, slice.cols, slice.channels]).toEqual([imageExpected.rows, imageExpected.cols, expected.channels]);
      // JPEG decoders may differ by a grey level; PNG/TIFF are exact.
      expectClose(slice.data, expected.values, name.endsWith('.jpg') ? 1.01 : 0);
      expect(slice.meta).toEqual({ source: join('test/fixtures/images', name), format: 'image' });
    });
  }

  it('names the file it cannot decode', async () => {
    await expect(readImage('package.json')).rejects.toThrow(/^package\.json: cannot decode image/);
  });
});

describe('readNifti against nibabel', () => {
  for (const file of ['volume.nii', 'volume.nii.gz']) {
    for (const axis of [0, 1, 2] as const) {
      it(`slices ${file} along axis ${axis} (scl_slope/inter applied, positions from the affine)`, async () => {
        const path = join('test/fixtures/nifti', file);
        const slices = await readNifti(path, { axis });
        const expected = niftiExpected.axes[String(axis)];
        expect(slices).toHaveLength(niftiExpected.shape[axis]);
        slices.forEach((slice, index) => {
          expect([slice.rows, slice.cols]).toEqual([expected[index].rows, expected[index].cols]);
          expectClose(slice.data, expected[index].values);
          expectClose(slice.meta.imagePosition!, expected[index].imagePosition, 1e-4);
          expect(slice.meta.source).toBe(`${path}#axis${axis}:${index}`);
          expect(slice.meta.format).toBe('nifti');
        });
      });
    }
  }

  it('gives orientation and spacing whose normal orders the slices', async () => {
    const slices = await readNifti('test/fixtures/nifti/volume.nii', { axis: 2 });
    const [rx, ry, rz, cx, cy, cz] = slices[0].meta.imageOrientation!;
    const normal = [ry * cz - rz * cy, rz * cx - rx * cz, rx * cy - ry * cx];
    const along = slices.map((s) => s.meta.imagePosition!.reduce((sum, v, d) => sum + v * normal[d], 0));
    const steps = along.slice(1).map((v, i) => v - along[i]);
    expect(steps.every((step) => Math.abs(Math.abs(step) - 2.5) < 1e-4)).toBe(true);
    expect(slices[0].meta.pixelSpacing).toEqual([0.5, expect.closeTo(0.7, 5)]);
  });

  it('names the file when it is not NIfTI', async () => {
    const work = mkdtempSync(join(tmpdir(), 'sliceseq-nifti-'));
    try {
      const path = join(work, 'fake.nii');
      copyFileSync('package.json', path);
      await expect(readNifti(path, { axis: 2 })).rejects.toThrow(`${path}: not a readable NIfTI file`);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});

describe('readSlices / readMeta dispatch', () => {
  it('picks the reader by extension, and by the DICM magic for files without one', async () => {
    expect((await readSlices(join(dicomDir, 'explicit_le_int16.dcm')))[0].meta.format).toBe('dicom');
    expect((await readSlices('test/fixtures/images/grey8.png'))[0].meta.format).toBe('image');
    expect(await readSlices('test/fixtures/nifti/volume.nii.gz', { axis: 1 })).toHaveLength(3);
    const work = mkdtempSync(join(tmpdir(), 'sliceseq-dispatch-'));
    try {
      const uidNamed = join(work, '1.2.840.113619.2.55.3.1234');
      copyFileSync(join(dicomDir, 'explicit_le_int16.dcm'), uidNamed);
      expect((await readSlices(uidNamed))[0].meta.format).toBe('dicom');
      const other = join(work, 'scan.ima');
      copyFileSync(join(dicomDir, 'explicit_le_int16.dcm'), other);
      expect((await readSlices(other))[0].meta.format).toBe('dicom');
      const text = join(work, 'notes.txt');
      copyFileSync('package.json', text);
      await expect(readSlices(text)).rejects.toThrow(`${text}: unsupported file type '.txt'`);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('reads the bare (no preamble) dataset by content', async () => {
    const [slice] = await readSlices(join(dicomDir, 'bare_implicit'));
    expectClose(slice.data, dicomExpected.files['bare_implicit'].values);
  });

  it('returns one metadata entry per slice', async () => {
    expect(await readMeta(join(dicomDir, 'multi_window.dcm'))).toHaveLength(1);
    expect(await readMeta('test/fixtures/images/grey16.png')).toEqual([{ source: 'test/fixtures/images/grey16.png', format: 'image' }]);
    const meta = await readMeta('test/fixtures/nifti/volume.nii', { axis: 0 });
    expect(meta.map((m) => m.source)).toEqual([0, 1, 2, 3].map((i) => `test/fixtures/nifti/volume.nii#axis0:${i}`));
  });
});
