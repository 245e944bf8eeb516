import { describe, expect, it } from 'vitest';
import { cycles, importGraph, layerOf, layers } from './imports.ts';

describe('the import graph of src/', () => {
  const graph = importGraph();

  it('is read from the source (a sanity check of the parser)', () => {
    expect(graph.get('experiments/run.ts')).toContain('runs/layout.ts');
    expect(graph.get('index.ts')!.length).toBeGreaterThan(20);
  });

  it('has no cycles', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('only points down the layers (core → labels/backend → data/losses/models → metrics → train → runs → report → experiments → cli)', () => {
    const upward = [...graph].flatMap(([file, targets]) =>
      targets.filter((target) => layerOf(target) > layerOf(file)).map((target) => `${file} (${layers[layerOf(file)].join('/')}) → ${target} (${layers[layerOf(target)].join('/')})`),
    );
    expect(upward).toEqual([]);
  });

  it('keeps the experiment config module a leaf of its folder', () => {
    expect(graph.get('experiments/config.ts')!.filter((target) => target.startsWith('experiments/'))).toEqual([]);
  });

  it('finds a cycle and an upward arrow when there is one', () => {
    const bad = new Map([
      ['core/a.ts', ['report/b.ts']],
      ['report/b.ts', ['core/a.ts']],
    ]);
    expect(cycles(bad)).toEqual([['core/a.ts', 'report/b.ts']]);
    expect(layerOf('report/b.ts')).toBeGreaterThan(layerOf('core/a.ts'));
  });
});
