"""Tests for helpers.sharing: address spaces, shared blocks and their clean-up, transfer timing."""

from __future__ import annotations

import os
import sys
from multiprocessing import shared_memory

import numpy as np
import pytest

from helpers import launch, sharing, system

METHODS_HERE = [m for m in ("fork", "spawn") if m in system.start_methods()]


@pytest.fixture(autouse=True)
def nothing_left_behind():
    """Every test must leave no worker process and no course_ block of this process."""
    sharing.GUEST_BOOK.clear()
    yield
    sharing.GUEST_BOOK.clear()
    assert launch.leftover_workers() == []
    assert sharing.leftover_segments() == []


# --------------------------------------------------------------------------- address spaces


def test_threads_append_to_the_one_list():
    run = launch.run(sharing.sign_guest_book, [(f"thread {i}",) for i in range(4)], "threads",
                     track_cores=False, show_progress=False)
    assert sorted(sharing.GUEST_BOOK) == [f"thread {i}" for i in range(4)]
    assert max(run.results) == 4


@pytest.mark.parametrize("method", METHODS_HERE)
def test_processes_change_only_their_own_copy(method):
    sharing.GUEST_BOOK.extend(["parent a", "parent b"])
    run = launch.run(sharing.sign_guest_book, [(f"process {i}",) for i in range(4)], "processes",
                     start_method=method, track_cores=False, show_progress=False)
    assert sharing.GUEST_BOOK == ["parent a", "parent b"]  # the parent's list is unchanged
    # fork copies the parent's list into each child; spawn starts each child with an empty one
    expected = 3 if method == "fork" else 1
    assert run.results == [expected] * 4
    assert len(set(run.pids)) == 4 and os.getpid() not in run.pids


@pytest.mark.parametrize("method", METHODS_HERE)
def test_plain_array_in_a_child_is_a_copy(method):
    data = np.zeros(10)
    run = launch.run(sharing.add_to_array, [(data, 5.0)], "processes", start_method=method,
                     track_cores=False, show_progress=False)
    assert run.results == [50.0]
    assert not data.any()


@pytest.mark.parametrize("method", METHODS_HERE)
def test_child_writes_to_shared_array_are_seen(method):
    with sharing.shared_array((3, 4), "int64") as block:
        assert block.array.shape == (3, 4) and block.array.dtype == np.int64
        assert not block.array.any()  # starts zeroed
        run = launch.run(sharing.fill_shared_array, [(block.handle, 7)], "processes",
                         start_method=method, track_cores=False, show_progress=False)
        assert run.results == [7.0 * 12]
        assert (block.array == 7).all()


# --------------------------------------------------------------------------- clean-up


def test_shared_array_unlinks_when_the_body_raises():
    with pytest.raises(ZeroDivisionError):
        with sharing.shared_array(100, "float64") as block:
            name = block.name
            assert name in sharing.leftover_segments()
            block.array[:] = 1.0
            raise ZeroDivisionError("a bug in the with-block")
    assert name not in sharing.leftover_segments(only_mine=False)
    with pytest.raises(FileNotFoundError):
        shared_memory.SharedMemory(name=name)
    with pytest.raises(RuntimeError, match="copy"):
        block.array  # noqa: B018 -- the array is gone, with a plain message


def test_shared_array_survives_a_kept_view():
    with sharing.shared_array(10, "uint8") as block:
        kept = block.array  # a view that outlives the with-block
        kept[:] = 3
    assert block.name not in sharing.leftover_segments()
    assert kept.sum() == 30  # still readable: the mapping lives as long as the view


def test_segment_names():
    name = sharing.segment_name()
    assert name.startswith("course_") and len(name) <= 30
    assert sharing.owner_pid(name) == os.getpid()
    assert sharing.owner_pid("course_inherit_x") is None
    assert sharing.owner_pid("other_123_ab") is None


@pytest.mark.skipif(not sharing.segments_listable(), reason="needs /dev/shm")
def test_remove_leftovers_removes_mine_and_orphans_but_not_blocks_in_use():
    mine = shared_memory.SharedMemory(name=sharing.segment_name(), create=True, size=64)
    mine.close()  # closed but not unlinked: a leak
    in_use = shared_memory.SharedMemory(name=f"course_1_{os.getpid():08x}"[:23], create=True,
                                        size=64)  # "made by" pid 1, which is alive
    try:
        assert sharing.leftover_segments() == [mine.name]
        assert in_use.name in sharing.leftover_segments(only_mine=False)
        assert sharing.remove_leftovers() == [mine.name]
        assert sharing.leftover_segments() == []
        assert in_use.name in sharing.leftover_segments(only_mine=False)
    finally:
        in_use.close()
        in_use.unlink()


def test_a_fresh_python_leak_is_removed_by_its_resource_tracker():
    report = sharing.leak_in_a_fresh_python(track=True)
    assert report.tracked and not report.survived
    assert report.tracker_warned


@pytest.mark.skipif(sys.version_info < (3, 13), reason="track= is new in Python 3.13")
def test_untracked_leak_survives_until_removed():
    report = sharing.leak_in_a_fresh_python(track=False)
    assert report.survived and not report.tracker_warned
    assert report.name in sharing.remove_leftovers()


@pytest.mark.skipif(sys.version_info >= (3, 13), reason="track= exists from Python 3.13")
def test_untracked_leak_needs_python_313():
    with pytest.raises(ValueError, match="3.13"):
        sharing.leak_in_a_fresh_python(track=False)


@pytest.mark.parametrize("shape, dtype, error", [
    (0, "float64", ValueError),
    ((3, -1), "float64", ValueError),
    ((), "float64", TypeError),
    ("10", "float64", TypeError),
    ((2.5,), "float64", TypeError),
    (10, object, TypeError),
    (10, "no such dtype", TypeError),
    (10**12, "float64", ValueError),
])
def test_shared_array_refuses_bad_input_before_creating_anything(shape, dtype, error):
    before = sharing.leftover_segments()
    with pytest.raises(error):
        with sharing.shared_array(shape, dtype):
            pass
    assert sharing.leftover_segments() == before


# --------------------------------------------------------------------------- transfers


@pytest.mark.parametrize("method", METHODS_HERE)
def test_measure_transfers_tiny_sizes(method):
    table = sharing.measure_transfers(sizes=[1, 2000, 1000], repeats=2, start_method=method)
    assert table.sizes == [1, 1000, 2000]
    assert table.methods == list(sharing.METHODS)
    assert table.start_method == method
    for m in table.methods:
        for s in table.sizes:
            times = table.times[(m, s)]
            assert len(times) == 2 and all(0 < t < 60 for t in times)
            lo, hi = table.spread(m, s)
            assert lo <= table.median(m, s) <= hi
            assert table.bandwidth(m, s) == pytest.approx(s / table.median(m, s))
    fastest = table.fastest(1000, sharing.PROCESS_METHODS)
    assert fastest in sharing.PROCESS_METHODS
    assert all(table.median(fastest, 1000) <= table.median(m, 1000)
               for m in sharing.PROCESS_METHODS)
    text = str(table)
    assert all(m in text for m in sharing.METHODS)
    assert "2 kB" in text and "1 B" in text
    conclusion = table.conclusion()
    assert sharing.format_seconds(table.median("SharedMemory", 2000)) in conclusion
    assert sharing.format_seconds(table.median("Queue", 2000)) in conclusion


def test_measure_transfers_some_methods_only():
    table = sharing.measure_transfers(sizes=[100], methods=["Queue", "Pipe"], repeats=1)
    assert table.methods == ["Pipe", "Queue"]  # always in the course's order
    assert set(table.times) == {("Pipe", 100), ("Queue", 100)}
    with pytest.raises(KeyError, match="Measured methods"):
        table.median("Manager", 100)


def test_measure_transfers_cleans_up_when_a_transfer_fails(monkeypatch):
    calls = []
    real = sharing._Receiver.transfer

    def fail_on_the_fifth(self, message, timeout):
        calls.append(self.method)
        if len(calls) == 5:
            raise KeyboardInterrupt  # as if the learner pressed Interrupt
        return real(self, message, timeout)

    monkeypatch.setattr(sharing._Receiver, "transfer", fail_on_the_fifth)
    with pytest.raises(KeyboardInterrupt):
        sharing.measure_transfers(sizes=[1000], repeats=2)
    assert len(calls) == 5
    # the autouse fixture checks: no worker process and no shared block left


def test_measure_transfers_cleans_up_when_interrupted_while_starting(monkeypatch):
    started = []
    real = sharing._Receiver.__init__

    def interrupted_after_starting(self, *args):
        real(self, *args)  # the receiver process is running now...
        started.append(self.method)
        if len(started) == 3:
            raise KeyboardInterrupt  # ...but the interrupt comes before anyone records it

    monkeypatch.setattr(sharing._Receiver, "__init__", interrupted_after_starting)
    with pytest.raises(KeyboardInterrupt):
        sharing.measure_transfers(sizes=[1000], repeats=1)
    assert len(started) == 3
    # the autouse fixture checks: no worker process (Manager included) and no shared block left


@pytest.mark.parametrize("kwargs, error, words", [
    ({"sizes": [0]}, ValueError, "at least 1 byte"),
    ({"sizes": [-5, 100]}, ValueError, "at least 1 byte"),
    ({"sizes": [10**9]}, ValueError, "more than this lesson allows"),
    ({"sizes": []}, ValueError, "empty"),
    ({"sizes": 1000}, TypeError, "list of message sizes"),
    ({"sizes": [1.5]}, TypeError, "whole number"),
    ({"sizes": [True]}, TypeError, "whole number"),
    ({"sizes": list(range(1, 30))}, ValueError, "20 at most"),
    ({"methods": ["carrier pigeon"]}, ValueError, "Unknown method"),
    ({"methods": []}, ValueError, "empty"),
    ({"repeats": 0}, ValueError, "repeats"),
    ({"repeats": 2.0}, ValueError, "repeats"),
    ({"timeout": -1}, ValueError, "timeout"),
    ({"start_method": "teleport"}, ValueError, "does not exist"),
])
def test_measure_transfers_refuses_bad_input_before_launching(kwargs, error, words):
    with pytest.raises(error, match=words):
        sharing.measure_transfers(**kwargs)


def test_formatting():
    assert sharing.format_bytes(1000) == "1 kB"
    assert sharing.format_bytes(8_000_000) == "8 MB"
    assert sharing.format_bytes(999) == "999 B"
    assert sharing.format_seconds(42e-6) == "42 µs"
    assert sharing.format_seconds(0.0123) == "12.3 ms"
    assert sharing.format_seconds(1.5) == "1.5 s"
    assert sharing._compare(6.26) == "6.3 times faster than"
    assert sharing._compare(1.05) == "about as fast as"
    assert sharing._compare(0.5) == "2.0 times slower than"


def test_conclusion_is_honest_about_a_noisy_thread_time():
    table = sharing.TransferTable("fork", [1000, 10_000_000], ["thread"], 1)
    table.times = {("thread", 1000): [50e-6], ("thread", 10_000_000): [60e-6]}
    assert "the size made no difference" in table.conclusion()
    table.times[("thread", 10_000_000)] = [7e-3]  # a busy moment, not a copy
    text = table.conclusion()
    assert "7 ms" in text and "50 µs" in text and "busy machine" in text
    assert "made no difference" not in text


def test_drawing_uses_log_axes_with_units():
    from helpers import plots

    table = sharing.measure_transfers(sizes=[100, 10_000], methods=["Pipe", "thread"], repeats=1)
    fig = plots.figure(10, 4)
    left, right = fig.subplots(1, 2)
    sharing.draw_transfer_times(left, table)
    sharing.draw_bandwidths(right, table)
    assert left.get_xscale() == right.get_yscale() == "log"
    assert "(s)" in left.get_ylabel() and "MB/s" in right.get_ylabel()
    assert "bytes" in left.get_xlabel()
    assert [t.get_text() for t in left.get_legend().get_texts()] == [
        "thread (a reference, no copy)", "Pipe"]
    assert [t.get_text() for t in right.get_legend().get_texts()] == ["Pipe"]  # no bytes moved
    assert [t.get_text() for t in left.get_xticklabels()] == ["100 B", "10 kB"]
    assert plots.to_png(fig).startswith(b"\x89PNG")
