"""Re-execute the notebooks on the shipped sample and store the outputs of the cells nbval checks.

Cells whose source starts with ``# NBVAL_CHECK_OUTPUT`` print headline figures; nbval (``--nbval-lax``)
compares them with the stored output. Every other cell is committed without outputs.
Run after changing a notebook or a figure on purpose:  .venv/bin/python scripts/refresh_checked_outputs.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import nbformat
import papermill as pm

ROOT = Path(__file__).resolve().parents[1]
MARK = "# NBVAL_CHECK_OUTPUT"


def refresh(path: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / path.name
        pm.execute_notebook(str(path), str(out), kernel_name="python3", cwd=str(path.parent), progress_bar=False)
        executed = nbformat.read(out, as_version=4)
    by_source = {c.source: c for c in executed.cells if c.cell_type == "code"}
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.execution_count = None
        if cell.source.startswith(MARK):  # nbval skips a reference cell that has no execution count
            cell.outputs = by_source[cell.source].outputs
            cell.execution_count = by_source[cell.source].execution_count
        else:
            cell.outputs = []
    nbformat.write(nb, path)
    print(f"refreshed {path.relative_to(ROOT)}")


if __name__ == "__main__":
    targets = [Path(p) for p in sys.argv[1:]] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    for target in targets:
        refresh(target.resolve())
