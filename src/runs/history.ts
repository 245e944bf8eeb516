import { z } from 'zod';
import { writeFileAtomic } from '../core/atomic.ts';
import { formatJsonLines, readJsonLines } from '../core/json.ts';
import { runPath } from './layout.ts';

/**
 * `history.jsonl`: one record per finished epoch, in order (`epoch`, `train_loss`, `val: {…}` as the trainer
 * scores it). Rewritten whole after every epoch, so it always matches the last checkpoint.
 */
export const historyRecordSchema = z.looseObject({ epoch: z.number().int() });
export type HistoryRecord = z.output<typeof historyRecordSchema>;

export function writeHistory(runDir: string, records: readonly object[]): void {
  writeFileAtomic(runPath(runDir, 'history'), formatJsonLines(records));
}

export function readHistory(runDir: string): HistoryRecord[] {
  return readJsonLines(historyRecordSchema, runPath(runDir, 'history'));
}
