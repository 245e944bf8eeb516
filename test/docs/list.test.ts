import { describe, expect, it } from 'vitest';
import { registerList } from '../../src/cli/commands/list.ts';
import { componentFamilies } from '../../src/experiments/catalog.ts';
import { runCli } from '../helpers/cli.ts';

describe('sliceseq list', () => {
  it('lists every registered component of every family with its description and defaults', async () => {
    const text = await runCli(registerList, 'list');
    const lines = text.split('\n');
    for (const family of ['backbone', 'encoder', 'decoder', 'head', 'loss', 'transform', 'dataset', 'metric', 'schedule', 'optimizer', 'dense']) {
      expect(text).toMatch(new RegExp(`^${family}: \\d+ registered`, 'm'));
    }
    for (const { registry } of componentFamilies) {
      for (const entry of registry.list()) {
        const line = lines.find((candidate) => candidate.trim().startsWith(`${entry.name} `) && candidate.endsWith(entry.description));
        expect(line, `${registry.kind} ${entry.name}`).toBeDefined();
      }
    }
    expect(text).toMatch(/small-vgg\s+VGG-style CNN[^\n]*\n\s+defaults: channels: \[16,32,64\], convsPerBlock: 2, batchNorm: false/);
  });

  it('lists one family by its singular or plural name, and as JSON', async () => {
    const text = await runCli(registerList, 'list', 'losses');
    expect(text).toMatch(/^loss: 7 registered/);
    expect(text).not.toContain('backbone');
    const json = JSON.parse(await runCli(registerList, 'list', 'schedule', '--json')) as Record<string, { components: Array<{ name: string; defaults: Record<string, unknown> }> }>;
    expect(Object.keys(json)).toEqual(['schedule']);
    expect(json.schedule.components.map((component) => component.name)).toEqual(expect.arrayContaining(['constant', 'cosine', 'step', 'plateau']));
  });

  it('names the families when given an unknown one', async () => {
    await expect(runCli(registerList, 'list', 'backbonez')).rejects.toThrow(/unknown component family 'backbonez'; families: dataset, transform, backbone/);
  });
});
