import { describe, expect, it } from 'vitest';
import { parseRsnaLabels } from '../../src/data/datasets/rsna-ich.ts';
import { BadInput, type OnBadFile, type SkippedItem } from '../../src/data/datasets/types.ts';
import { LABELS, sliceLabels, imageId } from '../../bench/scale-data.ts';

/**
 * parseRsnaLabels reads stage_2_train.csv (4.5M rows) byte by byte; a file with a quote anywhere goes through the
 * RFC 4180 text reader instead (`text: true` forces it). Both must give the same labels, lines and reports.
 */
type Parsed = { rows: Array<[string, number[], number]>; rejected: string[]; skipped: SkippedItem[] };

function parse(csv: string, mode: OnBadFile, text: boolean, includeAny = true): Parsed | { error: string } {
  const bad = new BadInput(mode, 'rsna-ich dataset');
  try {
    const labels = parseRsnaLabels(Buffer.from(csv), 'labels.csv', bad, { text, includeAny });
    const width = LABELS.length;
    return {
      rows: [...labels.rows].map(([image, row]): Parsed['rows'][number] => [image, [...labels.values.subarray(row * width, (row + 1) * width)], labels.firstLines[row]]),
      rejected: [...labels.rejected],
      skipped: bad.skipped,
    };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

/** Both readers, in both policies: the same result, which is returned (of the skip policy). */
function same(csv: string, includeAny = true): Parsed {
  for (const mode of ['error', 'skip'] as const) expect(parse(csv, mode, false, includeAny)).toEqual(parse(csv, mode, true, includeAny));
  const parsed = parse(csv, 'skip', false, includeAny);
  if ('error' in parsed) throw new Error(parsed.error);
  return parsed;
}

const image = (id: string, values: number[]) => LABELS.map((label, l) => `${id}_${label},${values[l]}`);
const rows = [...image('ID_aa', [0, 1, 0, 0, 0, 1]), ...image('ID_bb', [0, 0, 0, 0, 0, 0])];

describe('the RSNA labels CSV reader (bytes) against the text reader', () => {
  it('reads the plain file: each image once, six labels, the line of its first row', () => {
    const parsed = same(['ID,Label', ...rows].join('\n'));
    expect(parsed.rows).toEqual([
      ['ID_aa', [0, 1, 0, 0, 0, 1], 2],
      ['ID_bb', [0, 0, 0, 0, 0, 0], 8],
    ]);
    expect(parsed.skipped).toEqual([]);
  });

  it('CRLF, a BOM, blank lines, spaces around fields, no final newline', () => {
    const csv = `\ufeffID , Label\r\n${rows.slice(0, 6).map((r) => ` ${r.replace(',', ' ,\t')} `).join('\r\n')}\r\n\r\n\n${rows.slice(6).join('\r\n')}`;
    const parsed = same(csv);
    expect(parsed.rows).toEqual([
      ['ID_aa', [0, 1, 0, 0, 0, 1], 2],
      ['ID_bb', [0, 0, 0, 0, 0, 0], 10],
    ]);
  });

  it('quoted fields (with commas and doubled quotes) read as the RFC 4180 reader reads them', () => {
    const quoted = rows.map((r, i) => (i % 2 === 0 ? r.replace(/^([^,]+),(.*)$/, '"$1","$2"') : r));
    const parsed = same(['"ID","Label"', ...quoted, '"ID_cc_any, x","1"', '"ID_""dd""_any",1'].join('\n'));
    expect(parsed.rows.slice(0, 2).map((r) => r[0])).toEqual(['ID_aa', 'ID_bb']);
    expect(parsed.skipped.map((s) => s.reason)).toEqual(["unknown subtype 'any, x' (expected epidural, intraparenchymal, intraventricular, subarachnoid, subdural, any)", 'ID_"dd" has no row for epidural, intraparenchymal, intraventricular, subarachnoid, subdural']);
  });

  it("the competition's oddities: identical and conflicting duplicate rows, a missing label row, any against the subtypes", () => {
    const csv = ['ID,Label', ...rows, rows[3], ...image('ID_cc', [1, 0, 0, 0, 0, 0]), 'ID_cc_epidural,0', ...image('ID_dd', [0, 0, 1, 0, 0, 0]).slice(0, 5), ...image('ID_ee', [0, 0, 0, 1, 0, 0])];
    const parsed = same(csv.join('\n'));
    expect(parsed.rows.map((r) => r[0])).toEqual(['ID_aa', 'ID_bb']);
    expect(parsed.rejected).toEqual(['ID_cc', 'ID_dd', 'ID_ee']);
    expect(parsed.skipped.map((s) => [s.line, s.kind])).toEqual([
      [14, 'identical duplicate rows (ignored)'],
      [21, undefined],
      [15, undefined],
      [22, undefined],
      [32, undefined],
    ]);
    expect(parse(csv.join('\n'), 'error', false)).toEqual({ error: expect.stringMatching(/^labels\.csv line 21: duplicate row for ID_cc_epidural with a different Label than line 15/) });
  });

  it('bad rows: field counts, malformed IDs, unknown subtypes, labels other than 0/1, non-ASCII', () => {
    const csv = ['ID,Label,Usage', ...rows.map((r) => `${r},Public`), 'ID_ff_any,1', 'XX_ff_any,1,Public', 'ID__any,1,Public', 'ID_ff_bleed,1,Public', 'ID_ff_any,2,Public', 'ID_ff_any, 1 ,Public', 'ID_ü_any,1,Public', 'ID_ff_any\u00a0,0,Public', ',,'];
    const parsed = same(csv.join('\n'));
    expect(parsed.skipped.map((s) => s.reason)).toEqual([
      'expected 3 fields (ID,Label,Usage), got 2',
      "ID 'XX_ff_any' is not ID_<image>_<subtype>",
      "ID 'ID__any' is not ID_<image>_<subtype>",
      "unknown subtype 'bleed' (expected epidural, intraparenchymal, intraventricular, subarachnoid, subdural, any)",
      "Label must be 0 or 1, got '2'",
      // Trimmed as text trims: the no-break space goes, so this row repeats ID_ff_any with another Label.
      'duplicate row for ID_ff_any with a different Label than line 19',
      "ID '' is not ID_<image>_<subtype>",
      'conflicting duplicate rows for ID_ff',
      'ID_ü has no row for epidural, intraparenchymal, intraventricular, subarachnoid, subdural',
    ]);
  });

  it('a labels file without any `any` row, and includeAny: false', () => {
    const subtypesOnly = ['ID,Label', ...rows.filter((r) => !r.includes('_any,'))].join('\n');
    expect(parse(subtypesOnly, 'skip', false)).toEqual({ error: expect.stringMatching(/no row has the label 'any'/) });
    expect(same(subtypesOnly, false).rows).toEqual([
      ['ID_aa', [0, 1, 0, 0, 0, 1], 2],
      ['ID_bb', [0, 0, 0, 0, 0, 0], 7],
    ]);
  });

  it('a generated file of 2,000 images (as bench/scale-data.ts writes them) reads as written', () => {
    const lines = ['ID,Label'];
    for (let i = 0; i < 2000; i++) lines.push(...image(imageId(i), sliceLabels(i)));
    const parsed = same(`${lines.join('\n')}\n`);
    expect(parsed.rows).toHaveLength(2000);
    parsed.rows.forEach(([id, values, line], i) => {
      expect([id, values, line]).toEqual([imageId(i), sliceLabels(i), 2 + 6 * i]);
    });
  });

  it('a header without ID and Label, and an empty file', () => {
    expect(parse('Image,Value\nID_aa_any,1', 'skip', false)).toEqual({ error: "labels.csv line 1: expected the header 'ID,Label', got 'Image,Value'" });
    expect(parse('\n\n', 'skip', false)).toEqual({ error: 'labels.csv: empty CSV (no header row)' });
    expect(parse('\n\n', 'skip', true)).toEqual({ error: 'labels.csv: empty CSV (no header row)' });
  });
});
