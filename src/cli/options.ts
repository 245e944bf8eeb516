/** Parsers for option values that several commands share. */

/** `--threads N`: a positive integer (TensorFlow's intra-op threads on a native backend). */
export function parseThreads(value: string, option: string): number {
  const threads = Number(value);
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`${option}: expected a whole number of threads ≥ 1, got '${value}'`);
  return threads;
}
