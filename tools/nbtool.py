"""Keep the course notebooks in their stored form.

    python tools/nbtool.py refresh notebooks/03_speedup_and_the_gil.ipynb
        Execute the notebook (quick mode), then store outputs ONLY for the cells whose
        output nbval compares (marked ``# NBVAL_CHECK_OUTPUT``); every other cell is
        stored empty. Run it after changing a checked cell.

    python tools/nbtool.py strip notebooks/*.ipynb
        Clear every output except those of checked cells (no execution).

Notebooks are stored without outputs so learners' machines do the work and
diffs stay readable; nbval re-runs every cell and compares the checked ones.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat

CHECK_MARK = "NBVAL_CHECK_OUTPUT"


def is_checked(cell) -> bool:
    return cell.cell_type == "code" and (
        CHECK_MARK in cell.source or "nbval-check-output" in cell.metadata.get("tags", [])
    )


def strip(nb, executed=None) -> None:
    """Clear outputs of unchecked cells; for checked cells take outputs from ``executed``."""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if is_checked(cell) and executed is not None:
            cell.outputs = executed.cells[i].outputs
            cell.execution_count = executed.cells[i].execution_count
        elif not is_checked(cell):
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)


def refresh(path: Path) -> None:
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    executed = nbformat.read(path, as_version=4)
    os.environ.setdefault("COURSE_QUICK", "1")
    os.environ.setdefault("MPLBACKEND", "agg")
    NotebookClient(executed, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    strip(nb, executed)
    nbformat.write(nb, path)
    print(f"refreshed {path}")


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("refresh", "strip"):
        print(__doc__)
        return 2
    for name in argv[1:]:
        path = Path(name)
        if argv[0] == "refresh":
            refresh(path)
        else:
            nb = nbformat.read(path, as_version=4)
            strip(nb)
            nbformat.write(nb, path)
            print(f"stripped {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
