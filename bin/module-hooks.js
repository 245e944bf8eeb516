// Module hooks for files sliceseq loads from anywhere (experiment and ablation files, and what they import):
// - `import … from 'sliceseq'` resolves to this copy of sliceseq, installed in the file's project or not, so the
//   file shares the command's registries;
// - TypeScript and JavaScript files outside node_modules load as ES modules even where no package.json says
//   `"type": "module"` (a researcher's own folder), instead of as CommonJS, which cannot hold `export default`
//   modules in an import cycle. `.cts` and `.cjs` files stay CommonJS.
const index = new URL('../src/index.ts', import.meta.url).href;

export async function resolve(specifier, context, nextResolve) {
  if (specifier === 'sliceseq') return { url: index, shortCircuit: true };
  return nextResolve(specifier, context);
}

export async function load(url, context, nextLoad) {
  if (url.startsWith('file:') && !url.includes('/node_modules/') && /\.(ts|mts|js)$/.test(new URL(url).pathname) && context.format !== 'module') {
    return nextLoad(url, { ...context, format: 'module' });
  }
  return nextLoad(url, context);
}
