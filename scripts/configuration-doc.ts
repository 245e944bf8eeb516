/**
 * `npm run docs:config`: writes docs/configuration.md from the zod schemas (src/experiments/configuration-doc.ts).
 * `--check` writes nothing and fails when the file is stale.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../src/core/atomic.ts';
import { projectRoot } from '../src/core/version.ts';
import { configurationMarkdown } from '../src/experiments/configuration-doc.ts';

const CONFIGURATION_DOC = join(projectRoot, 'docs', 'configuration.md');

const text = configurationMarkdown();
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(CONFIGURATION_DOC, 'utf8');
  } catch {
    // missing: stale
  }
  if (current !== text) {
    process.stderr.write('docs/configuration.md is stale: run `npm run docs:config`\n');
    process.exitCode = 1;
  }
} else {
  writeFileAtomic(CONFIGURATION_DOC, text);
  process.stdout.write(`wrote ${CONFIGURATION_DOC}\n`);
}
