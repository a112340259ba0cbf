"""Tests for helpers.memory: footprints, sums, the table and the drawing."""

from __future__ import annotations

import multiprocessing as mp
import os
import sys

import psutil
import pytest

from helpers import launch, memory, system

LINUX = sys.platform.startswith("linux")


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


def test_footprint_of_a_child(nothing_left_running):
    import workers.lesson01 as w

    ctx = mp.get_context(system.start_methods()[0])
    ready, stop = ctx.Queue(), ctx.Event()
    child = ctx.Process(target=w.wait_until, args=(ready, stop, 30))
    child.start()
    try:
        assert ready.get(timeout=30) == child.pid
        f = memory.footprint(child.pid)
        assert f.pid == child.pid and f.rss > 0
        if LINUX:
            assert f.uss < f.rss  # it shares at least its libraries
    finally:
        stop.set()
        launch.stop_processes([child])


def test_footprint_of_a_missing_process_is_a_clear_error():
    gone = psutil.Popen([sys.executable, "-c", "pass"])
    gone.wait(30)
    with pytest.raises(ValueError, match="no process with pid"):
        memory.footprint(gone.pid)
    with pytest.raises(TypeError, match="pid"):
        memory.footprint("1")


def test_total_sums_and_propagates_missing_numbers():
    a = memory.Footprint(1, rss=10, uss=4, pss=6, vms=20)
    b = memory.Footprint(2, rss=30, uss=None, pss=8, vms=40)
    assert memory.total([a, a]) == {"rss": 20, "uss": 8, "pss": 12}
    assert memory.total([a, b]) == {"rss": 40, "uss": None, "pss": 14}


def test_table_has_one_row_per_footprint():
    a = memory.Footprint(1, rss=40 * memory.MB, uss=10 * memory.MB, pss=20 * memory.MB, vms=0)
    b = memory.Footprint(2, rss=30 * memory.MB, uss=None, pss=None, vms=0)
    lines = memory.table([("the notebook", a), ("a child", b)]).splitlines()
    assert len(lines) == 3
    assert "RSS" in lines[0] and "USS" in lines[0] and "PSS" in lines[0]
    assert "40.0 MB" in lines[1] and "10.0 MB" in lines[1]
    assert lines[2].count("n/a") == 2


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


@pytest.mark.skipif("fork" not in system.start_methods(), reason="copy-on-write needs fork")
@pytest.mark.timeout(60)
def test_a_fork_child_that_only_reads_python_objects_copies_pages(nothing_left_running):
    """The lesson's claim, measured: reading copies pages; gc.freeze() protects from the collector."""
    import gc

    import workers.lesson01 as w

    items = [[i] for i in range(200_000)]
    fork = mp.get_context("fork")

    def uss_growth(command: str) -> float:
        parent_end, child_end = fork.Pipe()
        child = fork.Process(target=w.obey, args=(items, child_end, 30))
        child.start()
        try:
            assert parent_end.poll(30) and parent_end.recv() == "ready"
            sizes = []
            for c in ("nothing", command):
                parent_end.send(c)
                assert parent_end.poll(30) and parent_end.recv() == "done"
                sizes.append(memory.footprint(child.pid).uss)
            parent_end.send("quit")
            return (sizes[1] - sizes[0]) / memory.MB
        finally:
            launch.stop_processes([child])

    assert uss_growth("read") > 8
    assert uss_growth("collect") > 5
    gc.freeze()
    try:
        assert uss_growth("collect") < 3
    finally:
        gc.unfreeze()
