import type { Command } from 'commander';
import { registerEnv } from './env.ts';

/** Every CLI command registers itself on the program; one line each. */
export const commands: Array<(program: Command) => void> = [
  registerEnv,
];
