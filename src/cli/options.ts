import { Option, type Command } from 'commander';
import { backendPreferences, type BackendPreference } from '../backend/preferences.ts';

/**
 * The command line's option parsers and the one option set that every training and prediction command shares
 * (backend, threads, workers, set, seed, resume, force, allow-changes). A command accepts each shared option or
 * refuses it by name with the reason, so `--threads` means the same everywhere and a flag that does not apply is
 * never silently ignored.
 *
 * This module (like every file in cli/commands) loads nothing heavy: `--help` must answer without TensorFlow or zod.
 */

/** A commander parser for a whole number ≥ `min`; the error names the flag and what it got. */
export function wholeNumber(flag: string, min: 0 | 1): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (text.trim() === '' || !Number.isInteger(value) || value < min) {
      throw new Error(`${flag} must be a ${min === 1 ? 'positive' : 'non-negative'} whole number, got '${text}'`);
    }
    return value;
  };
}

/** A commander parser for a finite number > 0. */
export function positiveNumber(flag: string): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value) || value <= 0) throw new Error(`${flag} must be a positive number, got '${text}'`);
    return value;
  };
}

/** A commander parser for a finite number (any sign). */
export function finiteNumber(flag: string): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value)) throw new Error(`${flag} must be a number, got '${text}'`);
    return value;
  };
}

/** A repeatable option's accumulator (`--set a=1 --set b=2`). */
export function repeatable(value: string, all: string[] = []): string[] {
  return [...all, value];
}

export const sharedOptionNames = ['backend', 'threads', 'workers', 'set', 'seed', 'resume', 'force', 'allowChanges'] as const;
export type SharedOptionName = (typeof sharedOptionNames)[number];

/** The shared options as commander hands them to an action (each absent unless given; `set` is always a list). */
export interface SharedOptions {
  backend?: BackendPreference;
  threads?: number;
  workers?: number;
  set: string[];
  seed?: number;
  resume?: boolean;
  resumeOrStart?: boolean;
  force?: boolean;
  allowChanges?: string[];
}

/** Each shared option as commander declares it, with its default help (a command may word it for itself). */
function sharedOption(name: SharedOptionName, help: string | undefined, accepted: boolean): Option[] {
  switch (name) {
    case 'backend':
      return [new Option('--backend <name>', help ?? 'backend').choices([...backendPreferences])];
    case 'threads':
      return [new Option('--threads <n>', help ?? "TensorFlow's intra-op threads on a native backend (default: one per core)").argParser(wholeNumber('--threads', 1))];
    case 'workers':
      return [new Option('--workers <n>', help ?? 'decode/preprocess worker threads (data.workers; default cores − 1, 0: main thread)').argParser(wholeNumber('--workers', 0))];
    case 'set':
      return [new Option('--set <key=value>', help ?? 'override a config field, e.g. --set train.epochs=3 (repeatable)').argParser(repeatable).default([])];
    case 'seed':
      return [new Option('--seed <n>', help ?? 'experiment seed').argParser(wholeNumber('--seed', 0))];
    case 'resume':
      return [
        new Option('--resume', help ?? 'continue the run in the run directory from its last checkpoint (refused when there is none)').conflicts(accepted ? ['force'] : []),
        new Option('--resume-or-start', 'continue the run when its directory holds one, else start it').conflicts(accepted ? ['force', 'resume'] : []),
      ];
    case 'force':
      return [new Option('--force', help ?? 'delete an existing run directory of the same name first (only one sliceseq wrote)')];
    case 'allowChanges':
      return [new Option('--allow-changes <field...>', help ?? 'with --resume: config fields or sections that may differ on purpose, e.g. train.epochs (recorded in environment.json)')];
  }
}

/** What a command does with one shared option: accept it (with its own help text, or the default) or refuse it, saying why. */
export type SharedOptionUse = { help?: string } | { refuse: string };

/**
 * Declares the shared option set on `command`: every name must be accepted or refused. A refused option is
 * hidden from `--help` and, when given, fails before the action runs with `<command> does not take --x: <why>`.
 */
export function addSharedOptions(command: Command, uses: Record<SharedOptionName, SharedOptionUse>): Command {
  const refused: Array<{ key: string; flag: string; why: string }> = [];
  for (const name of sharedOptionNames) {
    const use = uses[name];
    const accepted = !('refuse' in use);
    for (const option of sharedOption(name, 'help' in use ? use.help : undefined, accepted)) {
      if ('refuse' in use) {
        option.hideHelp();
        refused.push({ key: option.attributeName(), flag: option.long!, why: use.refuse });
      }
      command.addOption(option);
    }
  }
  command.hook('preAction', (_, action) => {
    const given = refused.filter(({ key }) => action.getOptionValueSource(key) === 'cli');
    if (given.length > 0) throw new Error(given.map(({ flag, why }) => `${action.name()} does not take ${flag}: ${why}`).join('; '));
  });
  return command;
}

/** The shared options as the `sets` a resolved experiment takes: `--workers N` is `data.workers=N`. */
export function experimentSets(options: Pick<SharedOptions, 'set' | 'workers'>): string[] {
  return options.workers === undefined ? options.set : [...options.set, `data.workers=${options.workers}`];
}

