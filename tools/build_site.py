"""Build the course website: every lesson executed on this machine, with its outputs and widgets.

    python tools/build_site.py [--out build/site]

1. Executes each notebook in ``notebooks/`` (as ``make site`` calls it: quick mode) with
   nbclient, storing each widget's final state, so sliders and live plots show as they
   ended.
2. Puts a note at the top of each page: which machine made these numbers, that the
   reader's own run will differ, and a link that opens the notebook on Binder.
3. Hides solution cells behind a click (``hide-cell``).
4. Runs Sphinx (myst-nb, sphinx-book-theme) on the result, with the widget manager
   script served from the site itself.
"""

from __future__ import annotations

import argparse
import datetime
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # helpers, without installing

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = Path(os.environ.get("COURSE_NOTEBOOK_DIR", ROOT / "notebooks"))
WIDGETS_DIST = ROOT / "site" / "node_modules" / "@jupyter-widgets" / "html-manager" / "dist"
MATHJAX = ROOT / "site" / "node_modules" / "mathjax" / "es5"


def repository() -> str:
    """``owner/name`` from pyproject's ``[project.urls] Repository`` (the one setting)."""
    url = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"]
    return url.rstrip("/").removeprefix("https://github.com/")


def binder_link(notebook: str) -> str:
    return (f"https://mybinder.org/v2/gh/{repository()}/HEAD"
            f"?urlpath=lab/tree/notebooks/{notebook}")


def machine_line() -> str:
    from helpers import system

    report = system.machine_report()
    quick = " in quick mode (smaller workloads)" if system.quick_mode() else ""
    gil = "GIL enabled" if system.gil_enabled() else "free-threaded, GIL disabled"
    return (f"{system.usable_cpus()} usable CPU(s), Python {report.python} ({gil}), start "
            f"method `{system.course_start_method()}`, {datetime.date.today():%d %B %Y}{quick}")


def note_cell(name: str, machine: str):
    cell = nbformat.v4.new_markdown_cell(
        f":::{{note}}\nThe outputs on this page were produced by running the notebook on the "
        f"course's build machine: {machine}. **Your own run will differ** -- every number in "
        f"this course is measured on the computer that runs it. "
        f"[Open this notebook on Binder]({binder_link(name)}) to run it yourself.\n:::")
    cell.metadata["tags"] = ["site-note"]
    return cell


def execute(path: Path):
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3", store_widget_state=True,
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()
    return nb


def prepare(nb, name: str, machine: str) -> None:
    cells = []
    for cell in nb.cells:
        tags = cell.metadata.setdefault("tags", [])
        if "solution" in tags and "hide-cell" not in tags:
            tags.append("hide-cell")  # hidden on the page too, opened by a click
        if cell.cell_type == "code" and "exercises.quiz(" in cell.source:
            quiz_note = nbformat.v4.new_markdown_cell(
                f"*On this page no Python runs, so the quiz below cannot check your answers: "
                f"[open the notebook on Binder]({binder_link(name)}) to use it.*")
            quiz_note.metadata["tags"] = ["site-note"]
            cells.append(quiz_note)
        cells.append(cell)
    nb.cells = cells
    nb.cells.insert(1, note_cell(name, machine))


INDEX = """# Multiprocessing vs multithreading

A hands-on course with **real processes and threads on your own machine**. These pages show
every lesson as it ran on the course's build machine; to run the experiments yourself, open a
lesson on Binder (the link at the top of each page) or clone the repository and type `make lab`.

```{{toctree}}
:maxdepth: 1
:caption: Lessons

{lessons}
```

```{{toctree}}
:maxdepth: 1
:caption: For instructors

instructor-guide
glossary
```
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "build" / "site"))
    parser.add_argument("--source", default=str(ROOT / "build" / "site-src"))
    args = parser.parse_args()
    if not (WIDGETS_DIST / "embed.js").exists():
        print("site/node_modules is missing: run `npm ci --prefix site` (make site does).")
        return 2
    src, out = Path(args.source), Path(args.out)
    shutil.rmtree(src, ignore_errors=True)
    (src / "_static" / "widgets").mkdir(parents=True)
    for f in WIDGETS_DIST.iterdir():
        if f.is_file() and not f.name.endswith((".map", ".txt")) and "amd" not in f.name:
            shutil.copy(f, src / "_static" / "widgets" / f.name)
    fonts = Path("output", "chtml", "fonts", "woff-v2")
    shutil.copytree(MATHJAX / fonts, src / "_static" / "mathjax" / fonts)
    shutil.copy(MATHJAX / "tex-chtml.js", src / "_static" / "mathjax")
    shutil.copy(ROOT / "site" / "mathjax-config.js", src / "_static")
    for doc in ("instructor-guide.md", "glossary.md"):
        shutil.copy(ROOT / "docs" / doc, src / doc)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    machine = machine_line()
    lessons = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    for path in lessons:
        print(f"executing {path.name} ...", flush=True)
        nb = execute(path)
        prepare(nb, path.name, machine)
        nbformat.write(nb, src / path.name)
    (src / "index.md").write_text(INDEX.format(lessons="\n".join(p.stem for p in lessons)))
    shutil.rmtree(out, ignore_errors=True)
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-W", "--keep-going",
               "-c", str(ROOT / "site"), "-D", f"html_static_path={src / '_static'}",
               str(src), str(out)]
    print(" ".join(command), flush=True)
    return subprocess.run(command).returncode


if __name__ == "__main__":
    sys.exit(main())
