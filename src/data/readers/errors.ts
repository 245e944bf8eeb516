/** An error about one input file: the message always starts with the file's path, then says what is wrong. */
export class DataFileError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${path}: ${reason}`, options);
    this.name = 'DataFileError';
  }
}

/** Libraries throw Errors, strings, or (dicom-parser) `{ exception, dataSet }` objects: one readable line. */
export function describeThrown(thrown: unknown): string {
  if (thrown instanceof Error) return thrown.message;
  if (typeof thrown === 'string') return thrown;
  if (thrown && typeof thrown === 'object' && 'exception' in thrown) return describeThrown(thrown.exception);
  return String(thrown);
}
