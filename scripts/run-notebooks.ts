import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

/**
 * `npm run notebooks [-- [--out <dir>] [notebook.ipynb ...]]`: executes the notebooks (by default every one in
 * notebooks/) headlessly with the repository's tslab kernel and fails, printing the failing cell's source and
 * error, at the first cell error. `--out` keeps the executed copies (with outputs); the committed notebooks stay
 * clean. Needs Jupyter's Python side (Debian: jupyter-nbconvert python3-nbclient jupyter-client python3-ipykernel).
 */

const projectRoot = fileURLToPath(new URL('..', import.meta.url));
export const notebooksDir = join(projectRoot, 'notebooks');
/** JUPYTER_PATH entry holding `kernels/sliceseq/kernel.json`. */
export const kernelspecDir = join(notebooksDir, 'kernelspec');
export const kernelName = 'sliceseq';
const executor = join(projectRoot, 'scripts', 'run-notebooks.py');

/** Interpreters tried in order: an explicit choice, then the usual names (Debian's python3-nbclient lives in /usr/bin's). */
function pythonCandidates(): string[] {
  const chosen = process.env.SLICESEQ_PYTHON;
  return chosen ? [chosen] : ['python3', '/usr/bin/python3', 'python'];
}

/** The first Python that can import nbclient and nbformat, or undefined when none can. */
export function findNotebookPython(): string | undefined {
  return pythonCandidates().find((python) => spawnSync(python, ['-c', 'import nbclient, nbformat'], { stdio: 'ignore' }).status === 0);
}

/** Every notebook in notebooks/, in name order. */
export function listNotebooks(): string[] {
  return readdirSync(notebooksDir)
    .filter((name) => name.endsWith('.ipynb'))
    .sort()
    .map((name) => join(notebooksDir, name));
}

export interface NotebookRunOptions {
  /** Keep the executed notebooks here. */
  outputDir?: string;
  /** Seconds one cell may run (default 300). */
  cellTimeout?: number;
  /** Return the output instead of passing it through (tests). */
  capture?: boolean;
}

export interface NotebookRunResult {
  status: number;
  /** Empty unless `capture`. */
  stdout: string;
  stderr: string;
}

/**
 * Executes `notebooks` in order with the repository's kernel; stops at the first failing cell. What the notebooks
 * write to temporary folders (their demo data and runs) goes to one scratch folder, removed afterwards.
 */
export function runNotebooks(python: string, notebooks: readonly string[], options: NotebookRunOptions = {}): NotebookRunResult {
  const args = [executor, '--kernel', kernelName, '--cwd', projectRoot, '--timeout', String(options.cellTimeout ?? 300)];
  if (options.outputDir) args.push('--output-dir', resolve(options.outputDir));
  // Absolute: Jupyter hands the kernel its spec folder as given, and the kernel starts elsewhere.
  const jupyterPath = [kernelspecDir, process.env.JUPYTER_PATH].filter(Boolean).join(delimiter);
  const scratch = mkdtempSync(join(tmpdir(), 'sliceseq-notebooks-'));
  try {
    const result = spawnSync(python, [...args, ...notebooks.map((path) => resolve(path))], {
      cwd: projectRoot,
      env: { ...process.env, JUPYTER_PATH: jupyterPath, TMPDIR: scratch },
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      stdio: options.capture ? 'pipe' : 'inherit',
    });
    if (result.error) throw new Error(`cannot start ${python}: ${result.error.message}`);
    return { status: result.status ?? 1, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function main(argv: string[]): number {
  const { values, positionals } = parseArgs({ args: argv, options: { out: { type: 'string' } }, allowPositionals: true });
  const notebooks = positionals.length > 0 ? positionals : listNotebooks();
  const missing = notebooks.filter((path) => !existsSync(path));
  if (missing.length > 0) throw new Error(`no such notebook: ${missing.join(', ')}`);
  const python = findNotebookPython();
  if (!python) {
    throw new Error(
      `no Python with nbclient found (tried ${pythonCandidates().join(', ')}; set SLICESEQ_PYTHON to choose one). ` +
        'Install Jupyter, e.g. apt-get install jupyter-nbconvert python3-nbclient jupyter-client python3-ipykernel',
    );
  }
  return runNotebooks(python, notebooks, { outputDir: values.out }).status;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (error) {
    console.error(`${(error as Error).message}\nusage: npm run notebooks -- [--out <folder for executed copies>] [notebook.ipynb ...]`);
    process.exitCode = 2;
  }
}
