"""Executes Jupyter notebooks headlessly with nbclient, one after another, and stops at the first cell that fails.

Started by scripts/run-notebooks.ts, which picks a Python that has nbclient and points JUPYTER_PATH at the
repository's kernelspec. tslab answers a failing cell with an empty error reply and writes the real message
(a TypeScript diagnostic or a stack trace) to the cell's stderr, so on failure this prints the cell's source and
everything it wrote, then exits 1.
"""

import argparse
import os
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError


def output_text(output):
    """The readable text of one cell output (streams, errors, plain-text results; rich data by its type)."""
    kind = output.get("output_type")
    if kind == "stream":
        return output.get("text", "")
    if kind == "error":
        return "\n".join(output.get("traceback") or [f"{output.get('ename')}: {output.get('evalue')}"]) + "\n"
    data = output.get("data", {})
    if "text/plain" in data:
        return data["text/plain"] + "\n"
    return f"[{', '.join(sorted(data))}]\n"


def describe_failure(path, cell, index, reason):
    source = cell.get("source", "")
    outputs = "".join(output_text(o) for o in cell.get("outputs", [])).rstrip("\n")
    return "\n".join(
        [
            f"FAILED {path}: cell {index + 1} ({reason})",
            "---- cell source " + "-" * 40,
            source.rstrip("\n"),
            "---- cell output " + "-" * 40,
            outputs or "(no output)",
            "-" * 57,
        ]
    )


def run_notebook(path, kernel, cwd, timeout, output_dir):
    """Executes one notebook; returns None on success, else a description of the failing cell."""
    notebook = nbformat.read(path, as_version=4)
    current = {"index": None}

    def on_cell_start(cell, cell_index):
        current["index"] = cell_index

    client = NotebookClient(
        notebook,
        kernel_name=kernel,
        timeout=timeout,
        resources={"metadata": {"path": cwd}},
        on_cell_start=on_cell_start,
    )
    failure = None
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as error:
        index = current["index"]
        reason = {CellTimeoutError: f"no reply within {timeout} s", DeadKernelError: "the kernel died"}.get(type(error), "error")
        if index is None:
            failure = f"FAILED {path}: {reason} before any cell ran\n{error}"
        else:
            failure = describe_failure(path, notebook.cells[index], index, reason)
    except RuntimeError as error:
        # nbclient's words for a kernel that would not start; the kernel's own output came before.
        failure = f"FAILED {path}: {error}"
    if output_dir:
        os.makedirs(output_dir, exist_ok=True)
        nbformat.write(notebook, os.path.join(output_dir, os.path.basename(path)))
    return failure


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", help="notebook files, executed in the order given")
    parser.add_argument("--kernel", required=True, help="kernelspec name (found through JUPYTER_PATH)")
    parser.add_argument("--cwd", required=True, help="folder the kernel starts in")
    parser.add_argument("--timeout", type=int, default=300, help="seconds one cell may run")
    parser.add_argument("--output-dir", help="write the executed notebooks (with outputs) here")
    args = parser.parse_args()

    for path in args.notebooks:
        started = time.monotonic()
        failure = run_notebook(path, args.kernel, args.cwd, args.timeout, args.output_dir)
        if failure:
            print(failure, file=sys.stderr)
            return 1
        print(f"ok {path} ({time.monotonic() - started:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
