"""The notebooks in notebooks/: stored without outputs, public API only, and run top to bottom.

Each notebook is executed with nbclient in a python3 kernel whose working directory is
notebooks/, as a reader would run it. The London notebook is also run where the shared data
cannot be found, where it must say so and finish without an error.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import planner

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
EXPECTED = {
    "01_quickstart.ipynb",
    "02_council_valuation.ipynb",
    "03_agency_campaign.ipynb",
    "04_london_bus_stops.ipynb",
}
#: Modules a notebook may import from the planner: the package itself (its ``__all__``).
PUBLIC_MODULES = {"planner"}
CELL_TIMEOUT_S = 300


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def _execute(path: Path) -> nbformat.NotebookNode:
    notebook = _read(path)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    return notebook


def _stdout(notebook: nbformat.NotebookNode) -> str:
    return "".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "stream" and output.name == "stdout"
    )


def _warnings(notebook: nbformat.NotebookNode) -> list[str]:
    return [
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "stream"
        and output.name == "stderr"
        and "Warning" in output.get("text", "")
    ]


def test_the_four_notebooks_are_there():
    assert {path.name for path in NOTEBOOKS} == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path):
    code_cells = [cell for cell in _read(path).cells if cell.cell_type == "code"]

    assert code_cells
    assert all(cell.outputs == [] for cell in code_cells)
    assert all(cell.execution_count is None for cell in code_cells)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_opens_by_saying_what_it_shows_and_that_figures_are_modelled(path):
    first = _read(path).cells[0]

    assert first.cell_type == "markdown"
    assert first.source.startswith("# ")
    assert "modelled estimates" in first.source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_uses_only_the_public_api(path):
    source = "\n".join(cell.source for cell in _read(path).cells if cell.cell_type == "code")
    imported = set(re.findall(r"^\s*from (planner[\w.]*) import", source, flags=re.M))
    imported |= set(re.findall(r"^\s*import (planner[\w.]*)", source, flags=re.M))
    attributes = set(re.findall(r"\bplanner\.(\w+)", source))

    assert imported <= PUBLIC_MODULES
    assert attributes <= set(planner.__all__), sorted(attributes - set(planner.__all__))


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path):
    notebook = _execute(path)  # raises CellExecutionError, naming the cell, on any error

    assert _warnings(notebook) == []


@pytest.mark.slow
def test_london_notebook_without_shared_data_says_so_and_finishes(tmp_path):
    # A project copy whose parent has no shared/data folder.
    project = tmp_path / "project"
    (project / "notebooks").mkdir(parents=True)
    (project / "pyproject.toml").write_text("[project]\nname = 'copy'\n")
    path = project / "notebooks" / "04_london_bus_stops.ipynb"
    shutil.copy(NOTEBOOK_DIR / path.name, path)

    notebook = _execute(path)

    out = _stdout(notebook)
    assert "The shared London data is not available" in out
    assert str(tmp_path / "shared" / "data") in out
    assert "Using the shared data" not in out
