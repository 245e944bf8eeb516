import type { SliceMeta } from '../types.ts';
import { readDicomHeader, readDicomSlices } from './dicom.ts';
import { describeThrown } from './errors.ts';
import { detectKind, readSlices, type SliceFileKind } from './index.ts';

/** What `sliceseq inspect FILE` reports: the tags that matter and the decoded value range. */
export interface FileReport {
  path: string;
  ok: boolean;
  /** Why the file cannot be used (the reader's message, naming the file). */
  error?: string;
  kind?: SliceFileKind;
  slices?: number;
  rows?: number;
  cols?: number;
  channels?: number;
  /** First slice's metadata (DICOM: UIDs, position, orientation, rescale, windows …). */
  meta?: SliceMeta;
  transferSyntaxName?: string;
  rsnaQuirk?: boolean;
  /** Decoded values over all slices: HU for CT, stored values × slope + intercept for other modalities. */
  values?: { min: number; max: number; mean: number };
}

function valueRange(arrays: readonly Float32Array[]): { min: number; max: number; mean: number } {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let count = 0;
  for (const data of arrays) {
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (v < min) min = v;
      if (v > max) max = v;
      sum += v;
    }
    count += data.length;
  }
  return { min, max, mean: count ? sum / count : NaN };
}

/** Reads one file fully (header and pixels); a bad file gives `ok: false` and the reason, never a throw. */
export async function inspectFile(path: string): Promise<FileReport> {
  try {
    const kind = await detectKind(path);
    if (kind === 'dicom') {
      const header = await readDicomHeader(path);
      const slices = await readDicomSlices(path);
      const [slice] = slices;
      return {
        path,
        ok: true,
        kind,
        slices: slices.length,
        rows: slice.rows,
        cols: slice.cols,
        channels: slice.channels,
        meta: slice.meta,
        transferSyntaxName: header.transferSyntax.name,
        rsnaQuirk: header.rsnaQuirk,
        values: valueRange(slices.map((s) => s.data)),
      };
    }
    const slices = await readSlices(path);
    const [first] = slices;
    return {
      path,
      ok: true,
      kind,
      slices: slices.length,
      rows: first?.rows,
      cols: first?.cols,
      channels: first?.channels,
      meta: first?.meta,
      values: valueRange(slices.map((s) => s.data)),
    };
  } catch (error) {
    return { path, ok: false, error: describeThrown(error) };
  }
}

function list(values: readonly number[] | undefined): string | undefined {
  return values?.map((v) => String(Number(v.toFixed(4)))).join(', ');
}

/** Human-readable lines for a report (fields a file lacks are left out). */
export function formatFileReport(report: FileReport): string[] {
  if (!report.ok) return [`bad file: ${report.error}`];
  const meta = report.meta;
  const rows: Array<[string, string | undefined]> = [
    ['kind', report.kind],
    ['modality', meta?.modality],
    ['size', `${report.rows} x ${report.cols}, ${report.channels} channel(s)${report.slices && report.slices > 1 ? `, ${report.slices} slices` : ''}`],
    ['transfer', meta?.transferSyntaxUid && `${report.transferSyntaxName} (${meta.transferSyntaxUid})`],
    ['study', meta?.studyInstanceUid],
    ['series', meta?.seriesInstanceUid],
    ['sop', meta?.sopInstanceUid],
    ['instance', meta?.instanceNumber?.toString()],
    ['position', list(meta?.imagePosition)],
    ['orientation', list(meta?.imageOrientation)],
    ['spacing', meta?.pixelSpacing && `${list(meta.pixelSpacing)} mm`],
    ['rescale', meta?.rescaleSlope !== undefined ? `slope ${meta.rescaleSlope}, intercept ${meta.rescaleIntercept}` : undefined],
    [
      'window',
      meta?.windowCenter && meta.windowWidth
        ? meta.windowCenter.map((c, i) => `${c}/${meta.windowWidth?.[i] ?? '?'}`).join(', ') + ' (centre/width)'
        : undefined,
    ],
    [
      'pixels',
      meta?.bitsStored !== undefined
        ? `${meta.bitsStored} bits stored, ${meta.pixelRepresentation === 1 ? 'signed' : 'unsigned'}, ${meta.photometricInterpretation ?? '?'}`
        : undefined,
    ],
    [
      meta?.modality === 'CT' && report.channels === 1 ? 'HU range' : 'values',
      report.values && `${Number(report.values.min.toFixed(2))} .. ${Number(report.values.max.toFixed(2))} (mean ${report.values.mean.toFixed(1)})`,
    ],
    ['note', report.rsnaQuirk ? 'RSNA 12-bit intercept quirk: repaired on read (intercept −1000)' : undefined],
  ];
  return [report.path, ...rows.filter(([, v]) => v !== undefined).map(([k, v]) => `  ${k.padEnd(12)}${v}`)];
}
