import { flattenJson } from '../core/json.ts';
import { DATA_FINGERPRINT_FORMAT, fingerprintFormat } from '../data/fingerprint.ts';
import { readRunConfig, writeRunConfig, type RunConfig } from './config-file.ts';
import { readEnvironment, writeEnvironment, type RunEnvironment } from './environment.ts';
import { runPath } from './layout.ts';

/**
 * What `--resume` checks before it touches a run: the resolved config and the data must be the ones the run
 * started with. A change is refused with the list of what changed, unless `--allow-changes FIELD…` names it (a
 * field, or a section such as `train`); the data's fingerprint counts as the field `data.fingerprint`.
 */
export type ConfigChanges = Record<string, { from: unknown; to: unknown }>;

const stable = (value: unknown) => JSON.stringify(value) ?? 'undefined';

/** The leaf fields (dot paths) whose values differ between two configs. */
export function configChanges(saved: unknown, now: unknown): ConfigChanges {
  const before = flattenJson(JSON.parse(JSON.stringify(saved)));
  const after = flattenJson(JSON.parse(JSON.stringify(now)));
  const fields = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return Object.fromEntries(fields.filter((field) => stable(before[field]) !== stable(after[field])).map((field) => [field, { from: before[field], to: after[field] }]));
}

const allows = (allowed: readonly string[], field: string) => allowed.some((entry) => field === entry || field.startsWith(`${entry}.`));

function describe(changes: ConfigChanges): string {
  return Object.entries(changes)
    .map(([field, { from, to }]) => `  ${field}: ${stable(from)} → ${stable(to)}`)
    .join('\n');
}

export interface ResumePlan {
  /** The changes the resume makes on purpose (empty: the run goes on exactly as it started). */
  changes: ConfigChanges;
  saved: { config: RunConfig; environment: RunEnvironment };
}

export interface ResumeCheckOptions {
  /** Config fields or sections the resume may change. */
  allowed?: readonly string[];
  /** Brings a config saved by an older version to today's resolved form before comparing (defaults filled in). */
  migrate?: (saved: RunConfig) => RunConfig;
  /**
   * Fields that say where the data lives (e.g. `data.dataset.root`): a change there is allowed, and recorded, when
   * the data's fingerprint is unchanged (the same files, moved or mounted elsewhere).
   */
  location?: readonly string[];
}

/**
 * Compares a started run with the config and data fingerprint it would resume with; refuses (before anything is
 * written) unless every difference is allowed.
 */
export function checkResume(runDir: string, config: RunConfig, fingerprint: string, options: ResumeCheckOptions = {}): ResumePlan {
  const allowed = options.allowed ?? [];
  const savedConfig = readRunConfig(runDir);
  const saved = { config: options.migrate ? options.migrate(savedConfig) : savedConfig, environment: readEnvironment(runDir) };
  const changes = configChanges(saved.config, config);
  const savedFingerprint = saved.environment.data.fingerprint;
  const sameData = savedFingerprint === fingerprint;
  if (!sameData) changes['data.fingerprint'] = { from: savedFingerprint, to: fingerprint };
  if (!sameData && fingerprintFormat(savedFingerprint) !== DATA_FINGERPRINT_FORMAT && !allows(allowed, 'data.fingerprint')) {
    throw new Error(
      `cannot resume ${runDir}: the data fingerprint format changed since it started (${runPath(runDir, 'environment')} holds '${savedFingerprint}', ` +
        'a hash of file paths; this version hashes file contents), so whether its data changed cannot be checked. ' +
        'If the data is the one it started with, resume with --allow-changes data.fingerprint (recorded in environment.json); otherwise start over with --force',
    );
  }
  const moved = (field: string) => sameData && allows(options.location ?? [], field);
  const refused = Object.fromEntries(Object.entries(changes).filter(([field]) => !allows(allowed, field) && !moved(field)));
  if (Object.keys(refused).length > 0) {
    throw new Error(
      `cannot resume ${runDir}: it started with another config or data (${runPath(runDir, 'config')}, ${runPath(runDir, 'environment')}); changed:\n${describe(refused)}\n` +
        `start over with --force, or resume on purpose with --allow-changes ${Object.keys(refused).join(' ')}`,
    );
  }
  return { changes, saved };
}

/** Records a resume's deliberate changes: the new config, and in environment.json what changed and when. */
export function recordResumeChanges(runDir: string, plan: ResumePlan, config: RunConfig, data: RunEnvironment['data']): void {
  if (Object.keys(plan.changes).length === 0) return;
  const previous = plan.saved.environment.changes ?? [];
  writeEnvironment(runDir, { ...plan.saved.environment, data, changes: [...previous, { at: new Date().toISOString(), fields: plan.changes }] });
  writeRunConfig(runDir, config);
}
