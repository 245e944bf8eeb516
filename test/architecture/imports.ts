import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import fg from 'fast-glob';

/**
 * The import graph of src/ read from the source text (static `import … from`, `export … from` and dynamic
 * `import('…')` with a relative path), for the architecture test.
 */
export const srcRoot = resolve(import.meta.dirname, '../../src');

/** The layers, lowest first; a file may import from its own layer or a lower one, never a higher one. */
export const layers: ReadonlyArray<readonly string[]> = [
  ['core'],
  ['labels', 'backend'],
  ['data', 'losses', 'models'],
  ['metrics'],
  ['train'],
  ['runs'],
  ['report'],
  ['experiments'],
  ['cli'],
  ['index.ts'],
];

export function layerOf(file: string): number {
  const top = file.split('/')[0];
  const index = layers.findIndex((names) => names.includes(top));
  if (index < 0) throw new Error(`src/${file} is in no layer: add its folder to test/architecture/imports.ts`);
  return index;
}

/** file (relative to src/) → the src files it imports. */
export function importGraph(): Map<string, string[]> {
  const files = fg.sync('**/*.ts', { cwd: srcRoot }).sort();
  const graph = new Map<string, string[]>();
  const pattern = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)|(?:^|\n)\s*import\s*['"](\.[^'"]+)['"]/g;
  for (const file of files) {
    const text = readFileSync(join(srcRoot, file), 'utf8');
    const targets = new Set<string>();
    for (const match of text.matchAll(pattern)) {
      const spec = match[1] ?? match[2] ?? match[3];
      const target = relative(srcRoot, resolve(srcRoot, dirname(file), spec));
      if (target.endsWith('.ts')) targets.add(target);
    }
    graph.set(file, [...targets].sort());
  }
  return graph;
}

/** Every cycle's files (strongly connected components of more than one file, or a file importing itself). */
export function cycles(graph: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter++);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node)!, index.get(next)!));
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || (graph.get(node) ?? []).includes(node)) found.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}
