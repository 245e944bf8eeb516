import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findNotebookPython, kernelName, listNotebooks, runNotebooks } from '../../scripts/run-notebooks.ts';

interface NotebookCell {
  cell_type: string;
  source: string[] | string;
  outputs?: unknown[];
  execution_count?: number | null;
}

function readNotebook(path: string): { cells: NotebookCell[]; metadata: { kernelspec?: { name?: string } } } {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** A notebook for the repository's kernel with one code cell per source. */
function writeNotebook(dir: string, name: string, sources: string[]): string {
  const path = join(dir, name);
  const cells = sources.map((source, i) => ({ cell_type: 'code', id: `cell-${i + 1}`, metadata: {}, execution_count: null, outputs: [], source }));
  const metadata = { kernelspec: { name: kernelName, display_name: 'TypeScript (sliceseq)', language: 'typescript' } };
  writeFileSync(path, JSON.stringify({ cells, metadata, nbformat: 4, nbformat_minor: 5 }));
  return path;
}

describe('committed notebooks', () => {
  const notebooks = listNotebooks();

  it('are the dataset, run and ablation notebooks', () => {
    expect(notebooks.map((path) => basename(path))).toEqual(['compare-ablation.ipynb', 'explore-dataset.ipynb', 'inspect-run.ipynb']);
  });

  it('are committed without outputs and name the repository kernel', () => {
    for (const path of notebooks) {
      const notebook = readNotebook(path);
      expect(notebook.metadata.kernelspec?.name, path).toBe(kernelName);
      for (const cell of notebook.cells.filter((c) => c.cell_type === 'code')) {
        expect(cell.outputs, `${path}: a code cell has outputs`).toEqual([]);
        expect(cell.execution_count, `${path}: a code cell has an execution count`).toBeNull();
      }
    }
  });

  it('each start with a cell that can point them at real data', () => {
    const variables: Record<string, string> = {
      'explore-dataset.ipynb': 'SLICESEQ_DATA',
      'inspect-run.ipynb': 'SLICESEQ_RUN',
      'compare-ablation.ipynb': 'SLICESEQ_ABLATION',
    };
    for (const path of notebooks) {
      const firstCode = readNotebook(path).cells.find((c) => c.cell_type === 'code')!;
      const source = Array.isArray(firstCode.source) ? firstCode.source.join('') : firstCode.source;
      expect(source, path).toContain(`process.env.${variables[basename(path)]}`);
    }
  });
});

// Jupyter's Python side (nbclient, jupyter_client) is a system package: CI installs it; elsewhere it may be absent.
const python = findNotebookPython();
if (!python) {
  console.warn(
    'notebook execution tests skipped: no Python with nbclient found ' +
      '(apt-get install jupyter-nbconvert python3-nbclient jupyter-client python3-ipykernel, or set SLICESEQ_PYTHON)',
  );
}

describe.skipIf(!python)('notebooks executed headlessly', () => {
  const folders: string[] = [];
  const scratch = () => {
    folders.push(mkdtempSync(join(tmpdir(), 'sliceseq-notebooks-test-')));
    return folders[folders.length - 1];
  };
  afterEach(() => folders.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  it('every notebook runs to the end without a cell error', () => {
    const notebooks = listNotebooks();
    const result = runNotebooks(python!, notebooks, { capture: true });
    expect(result.status, result.stderr).toBe(0);
    for (const path of notebooks) expect(result.stdout).toContain(`ok ${path}`);
  }, 600_000);

  it('a cell that throws fails the run, which prints the cell and its error and stops there', () => {
    const dir = scratch();
    const path = writeNotebook(dir, 'throws.ipynb', [
      'const answer: number = 42;',
      "throw new Error(`deliberate failure ${answer}`);",
      "console.log('this cell must not run');",
    ]);
    const out = join(dir, 'executed');
    const result = runNotebooks(python!, [path], { capture: true, outputDir: out });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`FAILED ${path}: cell 2`);
    expect(result.stderr).toContain('deliberate failure 42');
    expect(result.stdout).not.toContain('ok ');
    const executed = readNotebook(join(out, 'throws.ipynb'));
    expect(executed.cells[2].outputs).toEqual([]);
  }, 120_000);

  it('a cell that does not type-check fails the run with the compiler message', () => {
    const path = writeNotebook(scratch(), 'type-error.ipynb', ["const count: number = 'three';"]);
    const result = runNotebooks(python!, [path], { capture: true });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`FAILED ${path}: cell 1`);
    expect(result.stderr).toContain("Type 'string' is not assignable to type 'number'");
  }, 120_000);
});
