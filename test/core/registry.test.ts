import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Registry } from '../../src/core/registry.ts';

function shapes(): Registry<{ scale: number }, number> {
  const registry = new Registry<{ scale: number }, number>('shape');
  registry.register({
    name: 'square',
    description: 'area of a square',
    schema: z.object({ side: z.number().positive(), label: z.string().default('sq') }),
    create: (config, context) => config.side * config.side * context.scale,
  });
  return registry;
}

describe('Registry', () => {
  it('creates from a plain config with defaults filled', () => {
    const registry = shapes();
    expect(registry.create({ name: 'square', side: 3 }, { scale: 2 })).toBe(18);
    expect(registry.resolve('square', { side: 1 })).toEqual({ side: 1, label: 'sq' });
  });

  it('rejects unknown names, listing the registered ones', () => {
    expect(() => shapes().create({ name: 'circle' }, { scale: 1 })).toThrow(/unknown shape 'circle'; registered: square/);
  });

  it('rejects unknown keys and bad values, naming the field', () => {
    expect(() => shapes().create({ name: 'square', side: 2, colour: 'red' }, { scale: 1 })).toThrow(/colour/);
    expect(() => shapes().create({ name: 'square', side: -1 }, { scale: 1 })).toThrow(/side: .*>0|side: .*positive|side: Too small/i);
  });

  it('refuses to register a name twice', () => {
    const registry = shapes();
    expect(() =>
      registry.register({ name: 'square', description: '', schema: z.object({}), create: () => 0 }),
    ).toThrow(/already registered/);
  });
});
