import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { componentFamilies } from '../../src/experiments/catalog.ts';
import { configurationMarkdown } from '../../src/experiments/configuration-doc.ts';

describe('docs/configuration.md', () => {
  const generated = configurationMarkdown();

  it('is what `npm run docs:config` generates from the schemas today (run it after changing a schema)', () => {
    expect(readFileSync('docs/configuration.md', 'utf8')).toBe(generated);
  });

  it('documents every experiment field, every registered component and its defaults', () => {
    for (const field of ['`data.dataset` (required)', '`train.monitor`', '`split.test`', '`evaluation.zeroDivision`']) expect(generated).toContain(field);
    for (const { registry } of componentFamilies) {
      for (const name of registry.names()) expect(generated, `${registry.kind} ${name}`).toContain(`#### \`${name}\``);
    }
    expect(generated).toMatch(/\| `gamma_neg` \| number[^|]*\| `4` \|/);
  });
});
