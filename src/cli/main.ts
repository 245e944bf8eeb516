import { Command } from 'commander';
import { commands } from './commands/index.ts';
import { packageVersion } from '../core/version.ts';

const program = new Command();
program
  .name('sliceseq')
  .description('Sequence models over medical image slices: per-slice CNN → GRU over slices → LSTM label decoder, ASL loss, F2.')
  .version(packageVersion(), '-v, --version')
  .showHelpAfterError();

for (const register of commands) register(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.stderr.write(`sliceseq: ${error instanceof Error ? error.message : String(error)}\n`);
  if (process.env.SLICESEQ_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
  process.exitCode = 1;
}
