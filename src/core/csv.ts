/** RFC 4180 quoting where a field needs it (a comma, a quote or a line break). */
function csvField(value: string | number): string {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Rows as CSV text, one line each, ending with a newline. */
export function formatCsv(rows: ReadonlyArray<ReadonlyArray<string | number>>): string {
  return `${rows.map((row) => row.map(csvField).join(',')).join('\n')}\n`;
}
