import { z } from 'zod';
import type { LabelSchema } from '../../labels/schema.ts';
import type { DenseOrdinalGroup } from '../../labels/dense-ordinal.ts';
import type { SliceMeta } from '../types.ts';
import type { MissingRescale } from '../readers/dicom.ts';
import type { OrderCheck, Patient } from '../patients.ts';
import { log } from '../../core/log.ts';

/** `error`: the first bad file or row stops loading with an error naming it. `skip`: it is left out, with a warning and a record in `Dataset.skipped`. */
export const onBadFileSchema = z.enum(['error', 'skip']).default('error');
export type OnBadFile = z.output<typeof onBadFileSchema>;

/** Something left out of a dataset, and why (for the run's output). */
export interface SkippedItem {
  file: string;
  /** 1-based CSV line, where the problem is a row. */
  line?: number;
  reason: string;
  /** What sort of problem, where many of one sort are summed up in one line (e.g. 'image files with no label rows'). */
  kind?: string;
}

/**
 * Dataset options for CT slices whose headers have no RescaleSlope/RescaleIntercept (readers/dicom.ts
 * `MissingRescale`): refused by default, since their HU would be a guess.
 */
export const rescaleOptions = {
  /** The slope and intercept the scanner used, for slices whose headers lack them (commonly 1 and −1024). */
  rescale: z.object({ slope: z.number().positive(), intercept: z.number() }).strict().optional(),
  /** Without `rescale`: `refuse` such CT slices (default) or `assume-raw` (read the stored values as they are). */
  onMissingRescale: z.enum(['refuse', 'assume-raw']).default('refuse'),
};

/** The reader's rule for missing rescale tags from a dataset config (`rescale` wins over `onMissingRescale`). */
export function missingRescaleRule(config: { rescale?: { slope: number; intercept: number }; onMissingRescale: 'refuse' | 'assume-raw' }): MissingRescale {
  return config.rescale ?? config.onMissingRescale;
}

/** The scan-index variant of a missing-rescale rule (scan.ts): none for the default, so existing indexes stay valid. */
export function readerVariant(missingRescale: MissingRescale): string | undefined {
  return missingRescale === 'refuse' ? undefined : `missingRescale=${JSON.stringify(missingRescale)}`;
}

/** A loaded dataset: what the loader, splits and inspect work from. */
export interface Dataset {
  /** The registered dataset name (`rsna-ich`, `manifest`, `folders`). */
  kind: string;
  /** Where it was read from (folder or CSV). */
  source: string;
  /** What the labels are; absent for a dataset without labels (an unlabelled manifest or folder). */
  labelSchema?: LabelSchema;
  /** Patients in a stable order (sorted by id). */
  patients: Patient[];
  /** Whether patients carry targets (false for an unlabelled test split). */
  labelled: boolean;
  /** Whether patients carry per-slice targets. */
  sliceLabelled: boolean;
  /** The dense-ordinal group whose maps every patient's `sliceMasks` hold, for a dataset with mask files. */
  dense?: DenseOrdinalGroup;
  /** Patients the dataset itself holds out as the test set (e.g. a manifest's split column), instead of a random draw. */
  testIds?: string[];
  /** Order check per patient id, where slices were ordered from their headers. */
  orderChecks: Record<string, OrderCheck>;
  skipped: SkippedItem[];
  /**
   * Where every slice's file came from one listing: that listing's digest (scan.ts ScanResult `key`, over each
   * file's path, size and mtime as stat'ed by this load), which lets the data fingerprint trust its record of file
   * digests without a stat of each file again (data/fingerprint.ts).
   */
  listed?: string;
}

/** Reads one file's headers, one per slice it holds (readers/index.ts `readMeta`). */
export type MetaReader = (path: string) => Promise<SliceMeta[]>;

/** What a dataset factory gets besides its config: injectable readers (tests) and where caches go. */
export interface DatasetContext {
  readMeta?: MetaReader;
  /** Default folder for header-scan indexes, when the config names none (`null`: no index; see scanIndexDir). */
  cacheDir?: string | null;
}

/** `file line 12`: where a problem is. */
function where(item: SkippedItem): string {
  return `${item.file}${item.line !== undefined ? ` line ${item.line}` : ''}`;
}

/** Collects bad input: throws under `error`, records and warns under `skip`. */
export class BadInput {
  readonly skipped: SkippedItem[] = [];

  constructor(
    readonly mode: OnBadFile,
    private readonly what: string,
  ) {}

  /** Reports a problem; returns only in `skip` mode (the caller then leaves the item out). */
  report(item: SkippedItem): void {
    if (this.mode === 'error') {
      throw new Error(`${where(item)}: ${item.reason} (set onBadFile: 'skip' in the ${this.what} config to leave such items out)`);
    }
    this.skipped.push(item);
  }

  /**
   * Reports every problem of one `kind` at once (e.g. all images without label rows): under `error` one error that
   * names the first and counts the rest, under `skip` each is recorded and the summary gives the kind one line.
   */
  reportAll(kind: string, items: readonly SkippedItem[]): void {
    if (items.length === 0) return;
    if (this.mode === 'error') {
      const [first, ...rest] = items;
      const others = rest.length > 0 ? `; and ${rest.length} more ${kind}: ${rest.slice(0, 3).map(where).join(', ')}${rest.length > 3 ? ', …' : ''}` : '';
      throw new Error(`${where(first)}: ${first.reason}${others} (set onBadFile: 'skip' in the ${this.what} config to leave such items out)`);
    }
    for (const item of items) this.skipped.push({ ...item, kind });
  }

  /** Records a harmless problem (e.g. an identical duplicate row) in both modes: left out, listed, never fatal. */
  tolerate(item: SkippedItem): void {
    this.skipped.push(item);
  }

  /**
   * One warning summarising what was skipped (a 750k-file dataset must not print one line per file): one line per
   * kind with its count and first few, then the first few problems of no kind.
   */
  warnSummary(): void {
    if (this.skipped.length === 0) return;
    const kinds = new Map<string, SkippedItem[]>();
    const single: SkippedItem[] = [];
    for (const item of this.skipped) {
      if (item.kind === undefined) single.push(item);
      else if (kinds.has(item.kind)) kinds.get(item.kind)!.push(item);
      else kinds.set(item.kind, [item]);
    }
    const lines = [...kinds].map(([kind, items]) => `  ${kind}: ${items.length} (${items.slice(0, 3).map(where).join(', ')}${items.length > 3 ? ', …' : ''})`);
    lines.push(...single.slice(0, 5).map((item) => `  ${where(item)}: ${item.reason}`));
    if (single.length > 5) lines.push(`  … and ${single.length - 5} more`);
    log.warn(`${this.what}: skipped ${this.skipped.length} bad item(s):\n${lines.join('\n')}`);
  }
}
