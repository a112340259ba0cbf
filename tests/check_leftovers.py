"""Fail if the test suite left anything running: the last step of `make test`.

    .venv/bin/python tests/check_leftovers.py [--wait SECONDS]

Looks for

* processes started from this repository's virtual environments (.venv, .venv313, .venvft): kernels,
  multiprocessing workers and helpers, Jupyter servers, Dask workers, the Playwright driver --
  matched on the venv path in the command line or executable;
* Chromium started by Playwright (its profile directory is named playwright_*);
* shared-memory segments in /dev/shm whose name starts with ``course_`` (the course's prefix).

Processes that are already ending get ``--wait`` seconds (default 5) to go. This script, its
parents (make, a CI shell) and zombies are ignored. Exit status 1 lists what is left.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
VENVS = [ROOT / ".venv", ROOT / ".venv313", ROOT / ".venvft"]
SHM_DIR = Path("/dev/shm")
SHM_PREFIX = "course_"


def _venv_markers() -> list[str]:
    markers = set()
    for venv in VENVS:
        markers.add(str(venv) + os.sep)
        if venv.exists():
            markers.add(str(venv.resolve()) + os.sep)
    return sorted(markers)


def _own_lineage() -> set[int]:
    me = psutil.Process()
    return {me.pid, *(p.pid for p in me.parents())}


def _absolute(proc: psutil.Process, args: list[str]) -> list[str]:
    """Relative program paths (``.venv/bin/python x.py``) made absolute with the process's cwd."""
    relative = [a for a in args if a and not os.path.isabs(a) and os.sep in a]
    if not relative:
        return []
    try:
        cwd = proc.cwd()
    except psutil.Error:
        return []
    return [os.path.normpath(os.path.join(cwd, a)) for a in relative]


def leftover_processes() -> list[tuple[int, str]]:
    markers = _venv_markers()
    skip = _own_lineage()
    found = []
    for proc in psutil.process_iter(["pid", "cmdline", "exe", "status"]):
        info = proc.info
        if info["pid"] in skip or info["status"] == psutil.STATUS_ZOMBIE:
            continue
        argv = info["cmdline"] or []
        cmdline = " ".join(argv)
        exe = info["exe"] or ""
        paths = [exe, cmdline, *_absolute(proc, argv[:2])]
        from_venv = any(m in text for m in markers for text in paths)
        playwright_browser = "chrom" in exe.lower() and "playwright_" in cmdline
        if from_venv or playwright_browser:
            found.append((info["pid"], cmdline or exe or "?"))
    return found


def leftover_segments() -> list[str]:
    if not SHM_DIR.is_dir():  # macOS and Windows keep POSIX shared memory elsewhere
        return []
    return sorted(p.name for p in SHM_DIR.iterdir() if p.name.startswith(SHM_PREFIX))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wait", type=float, default=5.0,
                        help="seconds to give processes that are just ending (default 5)")
    args = parser.parse_args(argv)

    deadline = time.monotonic() + args.wait
    while True:
        procs, segments = leftover_processes(), leftover_segments()
        if not (procs or segments) or time.monotonic() >= deadline:
            break
        time.sleep(0.25)

    if not (procs or segments):
        print("leftovers: none (no process from .venv/.venv313, no /dev/shm/course_* segment)")
        return 0
    if procs:
        print(f"leftovers: {len(procs)} process(es) still running:")
        for pid, cmdline in procs:
            print(f"  pid {pid:>7}  {cmdline[:160]}")
    if segments:
        print(f"leftovers: {len(segments)} shared-memory segment(s) in {SHM_DIR}:")
        for name in segments:
            print(f"  {SHM_DIR / name}")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
