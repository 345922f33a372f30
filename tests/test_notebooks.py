"""The analyst notebooks: saved without outputs, no analysis code of their own, and they run.

Each notebook is executed top to bottom in a fresh kernel (nbclient, as nbmake does) with
``notebooks/`` as the working directory, so a failing cell fails the suite.  The run time of
each is printed (``pytest -s``); there is no timing assertion here.  Running them must not touch
the shared sample store nor write files into the repository.
"""

from __future__ import annotations

import ast
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from geo.store.database import store_counts
from geo.store.workspace import REPO_ROOT, SAMPLE_WORKSPACE
from geo.synthetic.workspace import ensure_sample_workspace

NOTEBOOK_DIR = REPO_ROOT / "notebooks"
EXPECTED = ("01_quickstart", "02_hotspots", "03_post_planning", "04_trends")
NOTEBOOKS = [NOTEBOOK_DIR / f"{name}.ipynb" for name in EXPECTED]
TIMEOUT_S = 600  # per cell; the notebooks take well under a minute each on the sample

# generated, git-ignored files of the sample workspace (ensure_sample_workspace writes them)
_GENERATED = {"raw", "store.duckdb", "store.duckdb.wal", "quarantine", ".salt", "exports"}


def _code_cells(path: Path) -> list[nbformat.NotebookNode]:
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def _listing(folder: Path, skip: set[str] = frozenset()) -> dict[str, int]:
    """Files directly in ``folder`` (not in skipped names) and their sizes."""
    return {p.name: p.stat().st_size for p in folder.iterdir() if p.name not in skip and p.is_file()}


def test_the_notebooks_of_the_issue_are_all_there() -> None:
    assert sorted(p.stem for p in NOTEBOOK_DIR.glob("*.ipynb")) == list(EXPECTED)
    assert (NOTEBOOK_DIR / "README.md").exists()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_saved_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and any(c.cell_type == "markdown" for c in nb.cells)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
             and (c.outputs != [] or c.execution_count is not None)]
    assert dirty == [], f"{path.name}: cells {dirty} were saved with outputs; clear them before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_call_the_library_and_define_only_display_glue(path: Path) -> None:
    code = _code_cells(path)
    trees = [ast.parse(c.source) for c in code]
    imported = {node.module.split(".")[0] for tree in trees for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.module}
    assert "geo" in imported
    # functions (display glue) may only be defined in the setup cell; classes nowhere
    for i, tree in enumerate(trees):
        defined = [n for n in ast.walk(tree)
                   if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)]
        assert not any(isinstance(n, ast.ClassDef) for n in defined), f"{path.name}: a class in code cell {i}"
        if i > 0:
            names = [n.name for n in defined]
            assert names == [], (f"{path.name}: code cell {i} defines {names}; put analysis code into geo/ "
                                 "and display glue into the setup cell")


@pytest.fixture(scope="module")
def sample_ready() -> int:
    """The shared sample, generated and ingested once (what every notebook does first)."""
    ws, _ = ensure_sample_workspace()
    return store_counts(ws.store_path)["events"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path: Path, sample_ready: int) -> None:
    notebooks_before = _listing(NOTEBOOK_DIR)
    sample_before = _listing(SAMPLE_WORKSPACE, _GENERATED)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError (with the cell and traceback) when a cell fails
    seconds = time.perf_counter() - start
    print(f"\n{path.name}: ran in {seconds:.1f} s")
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []
    assert all(c.execution_count is not None for c in nb.cells if c.cell_type == "code")
    # nothing written into the repository, the shared sample store untouched
    assert _listing(NOTEBOOK_DIR) == notebooks_before
    assert _listing(SAMPLE_WORKSPACE, _GENERATED) == sample_before
    assert store_counts(SAMPLE_WORKSPACE / "store.duckdb")["events"] == sample_ready
