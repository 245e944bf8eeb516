// Starts tslab at the sliceseq project root, whatever folder Jupyter starts the kernel in: tslab type-checks
// and resolves imports below the folder it runs in, so notebooks can import ./src/... and the project's
// packages. Jupyter passes the connection file as the only argument.
const { existsSync, readFileSync } = require('node:fs');
const { dirname, join, resolve } = require('node:path');

function isProjectRoot(dir) {
  const manifest = join(dir, 'package.json');
  return existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === 'sliceseq';
}

/** This spec's own checkout (notebooks/kernelspec/kernels/sliceseq), else the first sliceseq folder above the kernel's start folder (a copied spec). */
function findProjectRoot() {
  const own = resolve(__dirname, '..', '..', '..', '..');
  if (isProjectRoot(own)) return own;
  for (let dir = process.cwd(); ; dir = dirname(dir)) {
    if (isProjectRoot(dir)) return dir;
    if (dirname(dir) === dir) throw new Error(`no sliceseq project at ${own} or above ${process.cwd()}`);
  }
}

const connectionFile = process.argv[2];
if (!connectionFile) throw new Error('usage: launch.cjs <connection file>');
const root = findProjectRoot();
process.chdir(root);
require(join(root, 'node_modules', 'tslab', 'dist', 'main.js')).startKernel({ configPath: connectionFile, enableFindLocal: false });
