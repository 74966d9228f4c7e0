"""The tutorials in docs/tutorials run top to bottom against LocalCave, without an error.

Each notebook is executed by nbclient in a fresh Python kernel (ipykernel) that imports this
checkout of tracertools; a cell that raises fails its test with the cell and the traceback.
The same notebooks are executed again by the docs build (mkdocs-jupyter), which renders them
with their outputs.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[2]
TUTORIALS = sorted((ROOT / "docs" / "tutorials").glob("*.ipynb"))
#: seconds one cell may take (a kernel that hangs fails instead of waiting forever)
CELL_TIMEOUT = 300
#: the pictures each tutorial draws (matplotlib figures and VTK renders)
IMAGES = {"daily-proofreading": 1, "edit-history": 2, "meshes-and-swamps": 2}


def test_there_are_tutorials():
    assert [p.stem for p in TUTORIALS] == sorted(IMAGES)


def _images(book: nbformat.NotebookNode) -> int:
    return sum("image/png" in out.get("data", {}) for cell in book.cells
               if cell.cell_type == "code" for out in cell.get("outputs", []))


@pytest.mark.parametrize("path", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_tutorial_runs_without_errors(path, monkeypatch, tmp_path):
    # the kernel imports this checkout, and writes nothing into the real home
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    book = nbformat.read(path, as_version=4)
    client = NotebookClient(book, timeout=CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    try:
        client.execute()
    except CellExecutionError as exc:
        pytest.fail(f"{path.name} failed:\n{exc}")
    errors = [out for cell in book.cells if cell.cell_type == "code"
              for out in cell.outputs if out.output_type == "error"]
    assert errors == []
    assert _images(book) == IMAGES[path.stem]  # the plots drew into the notebook
    if os.environ.get("TRACERTOOLS_EXECUTED_DIR"):  # keep the executed notebook to look at
        nbformat.write(book, Path(os.environ["TRACERTOOLS_EXECUTED_DIR"]) / path.name)
