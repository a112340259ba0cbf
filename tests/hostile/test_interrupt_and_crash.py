"""What a learner does to a running cell: press "Interrupt kernel", or lose a worker process.

Each case runs in a real kernel with full-size workloads (COURSE_QUICK unset, so the run is
long enough to be interrupted), then checks that the cell ends promptly with a clear error,
that no worker process is left, and that the next cell works.
"""

from __future__ import annotations

import re
import signal
import time

import psutil
import pytest
from kernel_tools import wait_for, workers_of

START_METHODS = ["fork", "spawn", "forkserver"]
#: How long the interrupted cell may take to end.
INTERRUPT_LIMIT = 10.0


def _full_size(method: str | None) -> dict:
    return {"COURSE_QUICK": None, "COURSE_START_METHOD": method, "MPLBACKEND": "agg"}


def _check_next_cell_works(kernel, mode: str) -> None:
    result = kernel.run(
        "import threading\n"
        f"r = launch.run_workload('cpu', 0.3, 2, mode={mode!r})\n"
        "print('next run OK', r.n_workers)\n"
        "print('worker threads alive:', [t.name for t in threading.enumerate()"
        " if t.name.startswith('worker-') and t.is_alive()])\n",
        timeout=120,
    )
    assert result.status == "ok", f"the next cell failed: {result.ename}: {result.evalue}"
    assert "next run OK 2" in result.stdout
    assert "worker threads alive: []" in result.stdout, result.stdout


@pytest.mark.timeout(240)
@pytest.mark.parametrize("mode, method", [
    ("processes", "fork"), ("processes", "spawn"), ("processes", "forkserver"), ("threads", None),
], ids=["processes-fork", "processes-spawn", "processes-forkserver", "threads"])
def test_interrupt_kernel_during_sweep(start_kernel, no_new_segments, mode, method):
    kernel = start_kernel(_full_size(method))
    warm = kernel.run("from helpers import launch, measure, workloads\nimport threading", timeout=60)
    assert warm.status == "ok", warm.evalue
    me = psutil.Process(kernel.pid)
    threads_before = me.num_threads()

    msg_id = kernel.submit(
        f"measure.sweep('cpu', [1, 2], modes=[{mode!r}], seconds=30, repeats=5)")
    if mode == "processes":
        started = wait_for(lambda: workers_of(kernel.pid), timeout=90)
        assert started, "no worker process appeared within 90 s"
    else:
        started = wait_for(lambda: me.num_threads() > threads_before, timeout=90)
        assert started, "no worker thread appeared within 90 s"
    time.sleep(2.0)  # let the workers get properly busy

    t0 = time.monotonic()
    kernel.km.interrupt_kernel()
    result = kernel.collect(msg_id, timeout=60)
    took = time.monotonic() - t0
    assert result.status != "timeout", "the interrupted cell did not end within 60 s"
    assert result.ename == "KeyboardInterrupt", f"expected KeyboardInterrupt, got {result.ename}: {result.evalue}"
    assert took < INTERRUPT_LIMIT, f"the interrupted cell took {took:.1f} s to end (limit {INTERRUPT_LIMIT} s)"

    left = wait_for(lambda: not workers_of(kernel.pid), timeout=5) or workers_of(kernel.pid)
    assert left is True, f"worker processes left after the interrupt: {[p.pid for p in left]}"
    _check_next_cell_works(kernel, mode)
    assert not workers_of(kernel.pid)


@pytest.mark.timeout(240)
@pytest.mark.parametrize("method", START_METHODS)
def test_worker_killed_by_signal(start_kernel, no_new_segments, method):
    kernel = start_kernel(_full_size(method))
    warm = kernel.run("from helpers import launch\nlaunch.run_workload('cpu', 0.2, 1)", timeout=120)
    assert warm.status == "ok", warm.evalue

    msg_id = kernel.submit("launch.run_workload('cpu', 20, 2, mode='processes')")
    # Both workers (and the core sampler, which starts first) must be there.
    procs = wait_for(lambda: len(workers_of(kernel.pid)) >= 3 and workers_of(kernel.pid), 90)
    assert procs, f"the workers did not appear within 90 s: {workers_of(kernel.pid)}"
    time.sleep(0.5)
    # The newest process is a worker: the sampler starts, and answers, before any worker.
    # (create_time has a resolution of one clock tick, so ties are broken by the larger pid.)
    victim = max(procs, key=lambda p: (p.create_time(), p.pid))
    victim.send_signal(signal.SIGKILL)

    result = kernel.collect(msg_id, timeout=30)
    assert result.status == "error", f"the run did not fail (status {result.status})"
    assert result.ename == "WorkerCrashed", (
        f"{result.ename}: {result.evalue} (killed {victim.pid}; processes were "
        f"{[(p.pid, p.create_time()) for p in procs]})")
    assert re.search(rf"Worker \d+ \(process {victim.pid}\)", result.evalue), result.evalue
    assert "SIGKILL" in result.evalue, result.evalue

    left = wait_for(lambda: not workers_of(kernel.pid), timeout=5) or workers_of(kernel.pid)
    assert left is True, f"processes left after the crash: {[p.pid for p in left]}"
    _check_next_cell_works(kernel, "processes")
    assert not workers_of(kernel.pid)
