import { Command } from 'commander';
import { vi } from 'vitest';

/**
 * Runs one CLI command in-process (`register` adds it to a fresh program) and returns what it wrote to stdout;
 * stderr (progress bars, logs) is swallowed. Commander errors and the command's own errors reject.
 */
export async function runCli(register: (program: Command) => void, ...args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  register(program);
  const chunks: string[] = [];
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    chunks.push(String(chunk));
    return true;
  });
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    await program.parseAsync(['node', 'sliceseq', ...args]);
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
  return chunks.join('');
}
