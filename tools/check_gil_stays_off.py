"""Check that importing every module the course uses leaves the GIL off on a free-threaded build.

Run it with the free-threaded interpreter (the Makefile's notebooks-ft leg does):

    .venvft/bin/python tools/check_gil_stays_off.py

An extension module built without free-threading support turns the GIL back on for the whole
process when it is imported (with a RuntimeWarning naming it), unless PYTHON_GIL=0 forces it off.
So the imports run in a child process with PYTHON_GIL unset, one module after another, checking
``sys._is_gil_enabled()`` after each. A module that re-enables the GIL is reported with the
warning's text, and the check goes on in a fresh child without it. Exit status 1 if any did.
"""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Third-party modules the course (notebooks, helpers, the kernel) imports, and what they load.
THIRD_PARTY = [
    "numpy",
    "matplotlib",
    "matplotlib.pyplot",
    "matplotlib_inline.backend_inline",
    "psutil",
    "threadpoolctl",
    "zmq",
    "tornado",
    "tornado.ioloop",
    "yaml",
    "msgpack",
    "IPython",
    "ipykernel",
    "ipykernel.kernelapp",
    "ipywidgets",
    "dask",
    "dask.array",
    "dask.bag",
    "distributed",
]


def course_modules() -> list[str]:
    """helpers.* and the notebooks' workers.* modules, found by walking the packages."""
    sys.path[:0] = [str(ROOT), str(ROOT / "notebooks")]
    names = []
    for package in ("helpers", "workers"):
        if not (ROOT / package).is_dir() and not (ROOT / "notebooks" / package).is_dir():
            continue
        names.append(package)
        module = __import__(package)
        for info in pkgutil.walk_packages(module.__path__, prefix=package + "."):
            names.append(info.name)
    return names


CHILD = r"""
import importlib, json, sys, warnings
warnings.simplefilter("always")
names = json.loads(sys.argv[1])
sys.path[:0] = json.loads(sys.argv[2])
for name in names:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            importlib.import_module(name)
        except Exception as exc:
            print(json.dumps({"module": name, "error": f"{type(exc).__name__}: {exc}"}), flush=True)
            continue
    if sys._is_gil_enabled():
        gil = [str(w.message) for w in caught if "GIL" in str(w.message)]
        print(json.dumps({"module": name, "gil": gil}), flush=True)
        sys.exit(3)
    print(json.dumps({"module": name, "ok": True}), flush=True)
"""


def main() -> int:
    if not sysconfig.get_config_var("Py_GIL_DISABLED"):
        print(f"{sys.executable} is not a free-threaded build: nothing to check", file=sys.stderr)
        return 2
    env = {k: v for k, v in os.environ.items() if k != "PYTHON_GIL"}
    env["MPLBACKEND"] = "Agg"
    if subprocess.run([sys.executable, "-c", "import sys; sys.exit(sys._is_gil_enabled())"],
                      env=env).returncode:
        print("the GIL is on before any import (is PYTHON_GIL=1 set somewhere?)", file=sys.stderr)
        return 1
    todo = THIRD_PARTY + course_modules()
    paths = [str(ROOT), str(ROOT / "notebooks")]
    culprits: list[tuple[str, list[str]]] = []
    errors: list[tuple[str, str]] = []
    checked = 0
    while todo:
        proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps(todo), json.dumps(paths)],
                              env=env, capture_output=True, text=True, cwd=ROOT)
        done = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
        for record in done:
            if "error" in record:
                errors.append((record["module"], record["error"]))
            elif "gil" in record:
                culprits.append((record["module"], record["gil"]))
            checked += 1
        if proc.returncode not in (0, 3):
            print(f"the import check crashed (exit {proc.returncode}) after {done[-1:]}:\n"
                  f"{proc.stderr[-3000:]}", file=sys.stderr)
            return 1
        todo = todo[len(done):]
    for name, message in errors:
        print(f"IMPORT FAILED  {name}: {message}")
    for name, warnings in culprits:
        why = "; ".join(warnings) or "no warning text"
        print(f"GIL RE-ENABLED by importing {name}: {why}")
    version = sys.version.split()[0]
    if culprits or errors:
        print(f"{len(culprits)} of {checked} modules re-enabled the GIL, {len(errors)} failed to "
              f"import (Python {version}, free-threaded)")
        return 1
    print(f"GIL still off after importing all {checked} modules the course uses "
          f"(Python {version}, free-threaded)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
