"""Structure checks for notebooks/07_choosing_and_scaling_out.ipynb (the house conventions)."""

from pathlib import Path

import nbformat
import pytest

PATH = Path(__file__).resolve().parent.parent / "notebooks" / "07_choosing_and_scaling_out.ipynb"


@pytest.fixture(scope="module")
def nb():
    return nbformat.read(PATH, as_version=4)


def test_title_and_slides(nb):
    assert nb.cells[0].source.startswith("# 07 · ")
    assert all("slide_type" in c.metadata.get("slideshow", {}) for c in nb.cells)


def test_every_exercise_has_a_hidden_solution_right_after_it(nb):
    cells = nb.cells
    exercises = [i for i, c in enumerate(cells) if "exercise" in c.metadata.get("tags", [])]
    assert len(exercises) == 5
    for i in exercises:
        after = cells[i + 1]
        assert "solution" in after.metadata.get("tags", [])
        assert after.metadata.get("jupyter", {}).get("source_hidden") is True


def test_only_checked_cells_keep_outputs(nb):
    for c in nb.cells:
        if c.cell_type == "code" and "NBVAL_CHECK_OUTPUT" not in c.source:
            assert c.outputs == []


def test_no_worker_function_is_defined_for_processes_in_the_notebook(nb):
    # Process pools in the notebook may only run functions from helpers modules.
    for c in nb.cells:
        if c.cell_type == "code" and "ProcessPoolExecutor(" in c.source:
            assert "pool.map(pools." in c.source or "pool.map(capstone." in c.source


def test_notebook_closes_dask_and_cleans_up(nb):
    sources = [c.source for c in nb.cells if c.cell_type == "code"]
    assert any("dask.close()" in s for s in sources)
    assert "launch.shutdown_helpers()" in sources[-1] and "scaleout.close_all()" in sources[-1]
