// tslab compiles notebook cells to CommonJS, where `await import(x)` becomes `require(x)`, which cannot load ES
// modules (vega, vega-lite, sliceseq's own TypeScript sources). Node's own `require` loads this file, so the
// `import()` calls below are Node's; tsx's loader hooks, registered on first use, let them import TypeScript.
const { isAbsolute, resolve } = require('node:path');
const { pathToFileURL } = require('node:url');

let hooks;

/**
 * Imports an ES module: a package name (`sliceseq`, `vega`) or a path relative to the folder the kernel runs in
 * (the project root, e.g. `./src/report/charts/history.ts`).
 */
async function importModule(specifier) {
  // tsx's CommonJS entry of this API resolves its hooks file wrongly on Node 20; its ESM entry does not.
  hooks ??= import('tsx/esm/api').then(({ register }) => register());
  await hooks;
  const isPath = specifier.startsWith('.') || isAbsolute(specifier);
  return import(isPath ? pathToFileURL(resolve(process.cwd(), specifier)).href : specifier);
}

module.exports = { importModule };
