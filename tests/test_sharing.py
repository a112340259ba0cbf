"""Tests for helpers.sharing: the transfer-measuring instrument and the leftover-block tools."""

from __future__ import annotations

import os
from multiprocessing import shared_memory

import pytest
import workers.lesson04 as w

from helpers import sharing, system

METHODS_HERE = [m for m in ("fork", "spawn", "forkserver") if m in system.start_methods()]

pytestmark = pytest.mark.usefixtures("nothing_left_running")


@pytest.fixture(autouse=True)
def no_block_left():
    yield
    assert sharing.leftover_segments() == []


# --------------------------------------------------------------------------- blocks


def test_owner_pid():
    assert sharing.owner_pid(w.course_name()) == os.getpid()
    assert w.course_name().startswith(sharing.PREFIX) and len(w.course_name()) <= 30
    assert sharing.owner_pid("course_inherit_x") is None
    assert sharing.owner_pid("other_123_ab") is None


@pytest.mark.skipif(not sharing.segments_listable(), reason="needs /dev/shm")
def test_remove_leftovers_removes_mine_and_orphans_but_not_blocks_in_use():
    mine = shared_memory.SharedMemory(name=w.course_name(), create=True, size=64)
    mine.close()  # closed but not unlinked: a leak
    in_use = shared_memory.SharedMemory(name=f"course_1_{os.getpid():08x}"[:23], create=True,
                                        size=64)  # "made by" pid 1, which is alive
    try:
        assert sharing.segment_exists(mine.name)
        assert sharing.leftover_segments() == [mine.name]
        assert in_use.name in sharing.leftover_segments(only_mine=False)
        assert sharing.remove_leftovers() == [mine.name]
        assert not sharing.segment_exists(mine.name)
        assert sharing.leftover_segments() == []
        assert in_use.name in sharing.leftover_segments(only_mine=False)
    finally:
        in_use.close()
        in_use.unlink()
    assert sharing.remove_segment(in_use.name) is False


# --------------------------------------------------------------------------- transfers


@pytest.mark.timeout(120)
@pytest.mark.parametrize("method", METHODS_HERE)
def test_measure_transfers_tiny_sizes(method):
    table = sharing.measure_transfers(w, sizes=[1, 2000, 1000], repeats=2, start_method=method)
    assert table.sizes == [1, 1000, 2000]
    assert table.ways == list(sharing.WAYS)
    assert table.start_method == method
    for m in table.ways:
        for s in table.sizes:
            times = table.times[(m, s)]
            assert len(times) == 2 and all(0 < t < 60 for t in times)
            lo, hi = table.spread(m, s)
            assert lo <= table.median(m, s) <= hi
            assert table.bandwidth(m, s) == pytest.approx(s / table.median(m, s))
    fastest = table.fastest(1000, sharing.PROCESS_WAYS)
    assert all(table.median(fastest, 1000) <= table.median(m, 1000)
               for m in sharing.PROCESS_WAYS)
    text = str(table)
    assert all(m in text for m in sharing.WAYS)
    assert "2 kB" in text and "1 B" in text
    conclusion = table.conclusion()
    assert sharing.format_seconds(table.median("thread", 2000)) in conclusion
    assert "times as long as SharedMemory" in conclusion


@pytest.mark.timeout(60)
def test_measure_transfers_some_ways_only():
    table = sharing.measure_transfers(w, sizes=[100], ways=["Queue", "Pipe"], repeats=1)
    assert table.ways == ["Pipe", "Queue"]  # always in the course's order
    assert set(table.times) == {("Pipe", 100), ("Queue", 100)}
    with pytest.raises(KeyError, match="Measured ways"):
        table.median("Manager", 100)


@pytest.mark.timeout(60)
def test_measure_transfers_cleans_up_when_interrupted(monkeypatch):
    calls = []
    real = sharing._Receiver.transfer

    def fail_on_the_fifth(self, message, timeout):
        calls.append(self.way)
        if len(calls) == 5:
            raise KeyboardInterrupt  # as if the learner pressed Interrupt
        return real(self, message, timeout)

    monkeypatch.setattr(sharing._Receiver, "transfer", fail_on_the_fifth)
    with pytest.raises(KeyboardInterrupt):
        sharing.measure_transfers(w, sizes=[1000], repeats=2)
    assert len(calls) == 5  # the fixtures check: no process, thread or block left


@pytest.mark.timeout(60)
def test_measure_transfers_cleans_up_when_interrupted_while_starting(monkeypatch):
    started = []
    real = sharing._Receiver.__init__

    def interrupted_after_starting(self, *args):
        real(self, *args)
        started.append(self.way)
        if len(started) == 3:
            raise KeyboardInterrupt  # before the receiver is recorded

    monkeypatch.setattr(sharing._Receiver, "__init__", interrupted_after_starting)
    with pytest.raises(KeyboardInterrupt):
        sharing.measure_transfers(w, sizes=[1000], repeats=1)
    assert len(started) == 3


@pytest.mark.parametrize("kwargs, error, words", [
    ({"sizes": [0]}, ValueError, "at least 1 byte"),
    ({"sizes": [10**9]}, ValueError, "more than this lesson allows"),
    ({"sizes": []}, ValueError, "empty"),
    ({"sizes": 1000}, TypeError, "list of message sizes"),
    ({"sizes": [1.5]}, TypeError, "whole number"),
    ({"sizes": [True]}, TypeError, "whole number"),
    ({"sizes": list(range(1, 30))}, ValueError, "20 at most"),
    ({"ways": ["carrier pigeon"]}, ValueError, "way must be one of"),
    ({"ways": []}, ValueError, "empty"),
    ({"repeats": 0}, ValueError, "repeats"),
    ({"repeats": 2.0}, TypeError, "repeats"),
    ({"timeout": -1}, ValueError, "timeout"),
    ({"start_method": "teleport"}, ValueError, "start_method"),
    ({"start_method": ""}, ValueError, "start_method"),
    ({"workers": os}, TypeError, "worker module"),
])
def test_measure_transfers_refuses_bad_input_before_launching(kwargs, error, words):
    kwargs = {"workers": w, **kwargs}
    with pytest.raises(error, match=words):
        sharing.measure_transfers(**kwargs)


def test_formatting():
    assert sharing.format_bytes(1000) == "1 kB"
    assert sharing.format_bytes(8_000_000) == "8 MB"
    assert sharing.format_bytes(999) == "999 B"
    assert sharing.format_seconds(42e-6) == "42 µs"
    assert sharing.format_seconds(0.0123) == "12.3 ms"
    assert sharing.format_seconds(1.5) == "1.5 s"


def test_conclusion_is_honest_about_a_noisy_thread_time():
    table = sharing.TransferTable("fork", [1000, 10_000_000], ["thread"], 1)
    table.times = {("thread", 1000): [50e-6], ("thread", 10_000_000): [60e-6]}
    assert "nothing was copied." in table.conclusion()
    table.times[("thread", 10_000_000)] = [7e-3]  # a busy moment, not a copy
    text = table.conclusion()
    assert "7 ms" in text and "50 µs" in text and "busy machine" in text


def test_drawing_uses_log_axes_with_units():
    from helpers import plots

    table = sharing.TransferTable("fork", [100, 10_000], ["thread", "Pipe"], 2)
    table.times = {(m, s): [1e-4, 2e-4] for m in table.ways for s in table.sizes}
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
