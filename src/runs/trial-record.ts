import { join } from 'node:path';
import { z } from 'zod';
import { writeJsonAtomic } from '../core/atomic.ts';
import { readJsonFileIfExists } from '../core/json.ts';
import { ablationTrialSchema } from './ablation-plan.ts';
import { ABLATION_FILES } from './layout.ts';

/**
 * `trial.json` in an ablation trial's run directory: every attempt at the trial (who ran it, where, when, how it
 * ended), so a shared folder written by many machines says what happened where.
 */
export const trialAttemptSchema = z.object({
  pid: z.number().int(),
  host: z.string(),
  started: z.string(),
  ended: z.string().optional(),
  status: z.enum(['running', 'finished', 'failed', 'interrupted']),
  resumed: z.boolean(),
  error: z.string().optional(),
});
export type TrialAttempt = z.output<typeof trialAttemptSchema>;

export const trialRecordSchema = ablationTrialSchema.extend({ ablation: z.string(), attempts: z.array(trialAttemptSchema) });
export type TrialRecord = z.output<typeof trialRecordSchema>;

export function trialRecordPath(trialDir: string): string {
  return join(trialDir, ABLATION_FILES.trial);
}

export function trialLogPath(trialDir: string): string {
  return join(trialDir, ABLATION_FILES.trialLog);
}

export function writeTrialRecord(trialDir: string, record: TrialRecord): void {
  writeJsonAtomic(trialRecordPath(trialDir), record);
}

/** The attempts recorded so far (none before the first). */
export function readTrialAttempts(trialDir: string): TrialAttempt[] {
  return readJsonFileIfExists(trialRecordSchema, trialRecordPath(trialDir))?.attempts ?? [];
}
