"""Every notebook fits a Binder session: peak memory of the kernel and all its children < 1.5 GB.

Each notebook in notebooks/ (found automatically) is executed top to bottom with nbclient in
quick mode while a sampler adds up the memory of the kernel and every process below it, every
0.1 s. PSS is used where the OS offers it (Linux): shared pages are split among the processes
sharing them, so forked workers are not counted twice; elsewhere RSS (an overestimate).

The table (notebook, wall time, peak MB) is printed and written to test-output/memory.txt.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from kernel_tools import OUTPUT, discover_notebooks, new_kernel_manager, wait_for, workers_of
from nbclient import NotebookClient

LIMIT_MB = 1536  # 1.5 GB: Binder gives 2 GB, JupyterLab itself needs the rest
SAMPLE_EVERY = 0.1
NOTEBOOKS = discover_notebooks()
ROWS: dict[str, tuple[float, float, str, str]] = {}


def _process_memory(proc: psutil.Process) -> tuple[int, str]:
    try:
        full = proc.memory_full_info()
        pss = getattr(full, "pss", None)
        if pss is not None:
            return pss, "PSS"
        return full.rss, "RSS"
    except psutil.AccessDenied:
        return proc.memory_info().rss, "RSS"


class TreeSampler(threading.Thread):
    """Every 0.1 s: total memory of all processes below this one (the kernel and its workers)."""

    def __init__(self):
        super().__init__(name="memory-sampler", daemon=True)
        self.me = psutil.Process()
        self.peak = 0
        self.samples = 0
        self.measure = "PSS"
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            total = 0
            for proc in self.me.children(recursive=True):
                try:
                    amount, kind = _process_memory(proc)
                except psutil.Error:  # ended meanwhile
                    continue
                total += amount
                if kind == "RSS":
                    self.measure = "RSS"
            self.peak = max(self.peak, total)
            self.samples += 1
            self.done.wait(SAMPLE_EVERY)


def _write_table() -> None:
    header = f"{'notebook':<40} {'wall s':>7} {'peak MB':>8}  measure  start method"
    lines = [header] + [f"{name:<40} {wall:>7.1f} {peak:>8.0f}  {measure:<7}  {method}"
                        for name, (wall, peak, measure, method) in sorted(ROWS.items())]
    text = "\n".join(lines) + f"\n(limit {LIMIT_MB} MB; COURSE_QUICK=1; kernel + all its children)\n"
    OUTPUT.mkdir(exist_ok=True)
    (OUTPUT / "memory.txt").write_text(text)
    print("\n" + text)


@pytest.fixture(scope="module", autouse=True)
def memory_table():
    yield
    if ROWS:
        _write_table()


@pytest.mark.timeout(900)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_memory(path: Path, kernel_spec_dir, no_new_segments, monkeypatch):
    monkeypatch.setenv("COURSE_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "agg")
    method = os.environ.get("COURSE_START_METHOD", "default")
    assert not psutil.Process().children(), "children left over from an earlier test"
    nb = nbformat.read(path, as_version=4)
    km = new_kernel_manager(kernel_spec_dir)
    client = NotebookClient(nb, km=km, timeout=240, startup_timeout=60,
                            resources={"metadata": {"path": str(path.parent)}})
    sampler = TreeSampler()
    sampler.start()
    t0 = time.monotonic()
    kernel_pid = None
    try:
        with client.setup_kernel():
            kernel_pid = km.provisioner.pid
            client.execute()  # raises CellExecutionError on an unexpected error
            wall = time.monotonic() - t0
            # The notebook's own last cell checks for leftovers; check from outside too.
            left = wait_for(lambda: not workers_of(kernel_pid), 5) or workers_of(kernel_pid)
            assert left is True, f"{path.name} left processes: {[p.cmdline() for p in left]}"
    finally:
        sampler.done.set()
        sampler.join(5)
        if client.kc is not None:
            client.kc.stop_channels()
        if km.has_kernel:
            km.shutdown_kernel(now=False)
        if kernel_pid is not None:
            try:
                psutil.Process(kernel_pid).wait(10)
            except (psutil.Error, ChildProcessError):
                pass
    peak_mb = sampler.peak / 1024**2
    ROWS[path.stem] = (wall, peak_mb, sampler.measure, method)
    print(f"{path.name}: {wall:.1f} s, peak {peak_mb:.0f} MB ({sampler.measure}, {sampler.samples} samples)")
    assert sampler.samples > 0
    assert peak_mb < LIMIT_MB, f"{path.name} peaked at {peak_mb:.0f} MB (limit {LIMIT_MB} MB)"
