"""Tests for helpers.memory: footprints, idle threads vs processes, copy-on-write, clean-up, bad input."""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import threading

import psutil
import pytest

from helpers import launch, memory, system

METHODS = system.start_methods()
LINUX = sys.platform.startswith("linux")


@pytest.fixture(autouse=True)
def no_leftovers():
    before = {p.pid for p in launch.leftover_workers()}
    yield
    left = [p for p in launch.leftover_workers() if p.pid not in before]
    assert not left, f"a test left child processes running: {left}"


# --------------------------------------------------------------------------- measuring


def test_footprint_of_this_process():
    f = memory.footprint()
    assert f.pid == os.getpid()
    assert f.rss > 1 * memory.MB
    assert f.vms >= f.rss
    if LINUX:
        assert f.uss is not None and 0 < f.uss <= f.rss
        assert f.pss is not None and f.uss <= f.pss <= f.rss
        assert memory.pss_available()
    assert "RSS" in str(f) and "MB" in str(f)


def test_footprint_of_a_missing_process_is_a_clear_error():
    gone = psutil.Popen([sys.executable, "-c", "pass"])
    gone.wait(30)
    with pytest.raises(ValueError, match="no process with pid"):
        memory.footprint(gone.pid)


def test_total_sums_and_propagates_missing_numbers():
    a = memory.Footprint(1, rss=10, uss=4, pss=6, vms=20)
    b = memory.Footprint(2, rss=30, uss=None, pss=8, vms=40)
    assert memory.total([a, a]) == {"rss": 20, "uss": 8, "pss": 12}
    assert memory.total([a, b]) == {"rss": 40, "uss": None, "pss": 14}


def test_tree_footprint_includes_children():
    ctx = mp.get_context(METHODS[0])
    started, release = ctx.Barrier(2), ctx.Event()
    child = ctx.Process(target=memory.wait_idle, args=(started, release, 30), daemon=True)
    child.start()
    try:
        started.wait(30)
        pids = [f.pid for f in memory.tree_footprint()]
        assert pids[0] == os.getpid()
        assert child.pid in pids
    finally:
        release.set()
        launch.stop_processes([child])


# --------------------------------------------------------------------------- idle threads vs processes


@pytest.mark.parametrize("method", METHODS)
def test_idle_threads_vs_processes(method):
    result = memory.idle_threads_vs_processes(2, start_method=method)
    assert result.start_method == method
    assert len(result.children) == 2
    assert len({f.pid for f in result.children} | {os.getpid()}) == 3
    if LINUX:
        for f in result.children:
            assert f.uss < f.rss  # every child shares at least its libraries
    grow = result.thread_growth()
    assert set(grow) == {"rss", "uss", "vms"}
    table = result.table()
    assert table.count("idle process ") == 2 and "sum over the 2 idle processes" in table
    assert not [t for t in threading.enumerate() if t.name.startswith("idle-")]


@pytest.mark.parametrize("bad, error", [(0, ValueError), (-1, ValueError), (17, ValueError),
                                        (2.0, TypeError), (True, TypeError)])
def test_idle_comparison_refuses_bad_counts(bad, error):
    with pytest.raises(error, match="(idle workers|whole number)"):
        memory.idle_threads_vs_processes(bad)


def test_idle_comparison_refuses_unknown_method_and_timeout():
    with pytest.raises(ValueError, match="does not exist"):
        memory.idle_threads_vs_processes(2, start_method="teleport")
    with pytest.raises(ValueError, match="timeout"):
        memory.idle_threads_vs_processes(2, timeout=0)


def test_idle_child_ends_by_itself_when_nobody_releases_it():
    barrier, release = threading.Barrier(1), threading.Event()
    waiter = threading.Thread(target=memory.wait_idle, args=(barrier, release, 0.2))
    waiter.start()
    waiter.join(5)
    assert not waiter.is_alive()


# --------------------------------------------------------------------------- copy-on-write


@pytest.mark.skipif(not LINUX, reason="USS thresholds are checked where psutil reports USS reliably")
def test_copy_on_write_demo():
    size = 32
    result = memory.copy_on_write_demo(array_mb=size)
    array = size * memory.MB
    labels = [label for label, _ in result.rows]
    assert labels[0] == memory.PARENT
    assert result.get(memory.PARENT).uss > array
    if "fork" in METHODS:
        idle, wrote = result.get(memory.FORK_IDLE), result.get(memory.FORK_WROTE)
        assert idle.uss < 0.25 * array  # only inherited: shared, not copied
        assert idle.rss > array  # ... though RSS counts the shared pages
        assert wrote.uss - idle.uss > 0.4 * array  # half written: about half copied
    plain, passed = result.get(memory.SPAWN_PLAIN), result.get(memory.SPAWN_ARG)
    assert passed.uss - plain.uss > 0.8 * array  # the pickled argument is a full copy
    assert "array of 32 MB" in result.table()


def test_array_child_obeys_and_is_stopped():
    import numpy as np

    array = np.zeros(1000)
    with memory.ArrayChild(METHODS[0], array, timeout=30) as child:
        pid = child.proc.pid
        child.write_half()
        assert psutil.pid_exists(pid)
    assert not psutil.pid_exists(pid), "the child must be gone after the with-block"
    assert not array.any()  # the child wrote to its own copy; the parent's array is untouched


def test_hold_array_ends_after_silence():
    parent, child = mp.Pipe()
    worker = threading.Thread(target=memory.hold_array, args=(child, None, 0.2))
    worker.start()
    assert parent.poll(5) and parent.recv() == "ready"
    worker.join(5)
    assert not worker.is_alive()
    parent.close()


@pytest.mark.parametrize("bad, error", [(0, ValueError), (-5, ValueError), (10**6, ValueError),
                                        ("big", TypeError), (True, TypeError), (None, TypeError)])
def test_check_array_mb_refuses_bad_sizes(bad, error):
    with pytest.raises(error, match="array_mb"):
        memory.check_array_mb(bad)


def test_copy_on_write_refuses_bad_input_before_starting_anything():
    with pytest.raises(ValueError, match="array_mb"):
        memory.copy_on_write_demo(array_mb=memory.MAX_ARRAY_MB + 1)
    with pytest.raises(ValueError, match="timeout"):
        memory.copy_on_write_demo(array_mb=4, timeout=-1)
    assert not launch.leftover_workers()


def test_copy_on_write_refuses_an_array_that_does_not_fit(monkeypatch):
    monkeypatch.setattr(memory.system, "memory_available", lambda: 100 * memory.MB)
    with pytest.raises(ValueError, match="only 100 MB is free"):
        memory.check_array_mb(32)


def test_default_array_size(monkeypatch):
    monkeypatch.setenv("COURSE_QUICK", "1")
    assert memory.default_array_mb() == min(memory.QUICK_ARRAY_MB,
                                            int(system.memory_available() / memory.MB / 10))
    monkeypatch.setattr(memory.system, "memory_available", lambda: 200 * memory.MB)
    assert memory.default_array_mb() == 20
    monkeypatch.delenv("COURSE_QUICK")
    monkeypatch.setattr(memory.system, "memory_available", lambda: 64 * 1024 * memory.MB)
    assert memory.default_array_mb() == memory.DEFAULT_ARRAY_MB <= memory.MAX_ARRAY_MB


def test_draw_footprints_leaves_out_missing_numbers():
    from helpers import plots

    rows = [("a", memory.Footprint(1, rss=40 * memory.MB, uss=10 * memory.MB, pss=20 * memory.MB, vms=0)),
            ("b", memory.Footprint(2, rss=30 * memory.MB, uss=5 * memory.MB, pss=None, vms=0))]
    fig = plots.figure()
    ax = fig.add_subplot()
    memory.draw_footprints(ax, rows)
    widths = sorted(round(p.get_width()) for p in ax.patches)
    assert widths == [5, 10, 20, 30, 40]  # 3 bars for "a", 2 for "b" (no PSS)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    assert "MB" in ax.get_xlabel()


def test_megabytes_text():
    assert memory.megabytes(None) == "n/a"
    assert memory.megabytes(3 * memory.MB // 2) == "1.5 MB"
