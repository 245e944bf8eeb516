import { readFile } from 'node:fs/promises';

/** One CSV data row: cells by column name, and the 1-based line it starts on (for error messages). */
export interface CsvRow {
  line: number;
  cells: Record<string, string>;
}

export interface CsvTable {
  file: string;
  header: string[];
  rows: CsvRow[];
}

/** Where a problem is, as people read it: `labels.csv line 12`. */
export function at(file: string, line?: number, column?: string): string {
  return `${file}${line !== undefined ? ` line ${line}` : ''}${column !== undefined ? `, column '${column}'` : ''}`;
}

/**
 * Calls `onRecord` for every record of RFC 4180 CSV text (quoted fields, doubled quotes, CRLF, a UTF-8 BOM)
 * with its fields and the 1-based line it starts on; blank lines are skipped. Lines without quotes take a fast
 * path (a real RSNA label file has 4.5M rows).
 */
export function forEachCsvRecord(text: string, file: string, onRecord: (fields: string[], line: number) => void): void {
  let pos = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  while (pos < text.length) {
    const recordLine = line;
    let newline = text.indexOf('\n', pos);
    if (newline < 0) newline = text.length;
    const raw = text.slice(pos, newline > pos && text[newline - 1] === '\r' ? newline - 1 : newline);
    if (!raw.includes('"')) {
      pos = newline + 1;
      line++;
      if (raw !== '') onRecord(raw.split(','), recordLine);
      continue;
    }
    // Quoted fields may hold commas, quotes and newlines: parse character by character to the record's end.
    const fields: string[] = [];
    let field = '';
    let quoted = false;
    for (;;) {
      if (pos >= text.length) {
        if (quoted) throw new Error(`${at(file, recordLine)}: unterminated quoted field`);
        break;
      }
      const ch = text[pos++];
      if (quoted) {
        if (ch === '"' && text[pos] === '"') {
          field += '"';
          pos++;
        } else if (ch === '"') quoted = false;
        else {
          if (ch === '\n') line++;
          field += ch;
        }
      } else if (ch === '"' && field.trim() === '') {
        quoted = true;
        field = '';
      } else if (ch === ',') {
        fields.push(field);
        field = '';
      } else if (ch === '\n') {
        line++;
        break;
      } else if (ch !== '\r') field += ch;
    }
    fields.push(field);
    onRecord(fields, recordLine);
  }
}

/** The header row: trimmed names, duplicates an error. */
function checkHeader(fields: string[], file: string, line: number): string[] {
  const header = fields.map((name) => name.trim());
  const seen = new Set<string>();
  for (const name of header) {
    if (seen.has(name)) throw new Error(`${at(file, line)}: duplicate column '${name}' in the header`);
    seen.add(name);
  }
  return header;
}

/** Parses CSV text into rows of cells by column name; every row must have as many fields as the header. */
export function parseCsv(text: string, file: string): CsvTable {
  let header: string[] | undefined;
  const rows: CsvRow[] = [];
  forEachCsvRecord(text, file, (fields, line) => {
    if (!header) {
      header = checkHeader(fields, file, line);
      return;
    }
    if (fields.length !== header.length) {
      throw new Error(`${at(file, line)}: expected ${header.length} fields (${header.join(',')}), got ${fields.length}`);
    }
    const cells: Record<string, string> = {};
    header.forEach((name, i) => (cells[name] = fields[i].trim()));
    rows.push({ line, cells });
  });
  if (!header) throw new Error(`${file}: empty CSV (no header row)`);
  return { file, header, rows };
}

/** A file's bytes; the error names the file. */
export async function readBytes(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    throw new Error(`cannot read ${file}: ${(error as Error).message}`);
  }
}

/** A text file's content (UTF-8); the error names the file. */
export async function readTextFile(file: string): Promise<string> {
  return (await readBytes(file)).toString('utf8');
}

export async function readCsv(file: string): Promise<CsvTable> {
  return parseCsv(await readTextFile(file), file);
}

/** Fails naming the file and the missing columns (and the columns it has). */
export function requireColumns(table: CsvTable, columns: readonly string[]): void {
  const missing = columns.filter((column) => !table.header.includes(column));
  if (missing.length > 0) {
    throw new Error(
      `${at(table.file, 1)}: missing column${missing.length > 1 ? 's' : ''} ${missing.map((c) => `'${c}'`).join(', ')}; ` +
        `the header has ${table.header.map((c) => `'${c}'`).join(', ')}`,
    );
  }
}
